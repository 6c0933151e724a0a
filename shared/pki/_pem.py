"""A linear-time PEM block scanner that tolerates the noise real files carry."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from certmgr.shared.errors import InputTooLargeError, UnsupportedFormatError

MAX_BLOCKS = 2000
_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9][A-Z0-9 #._/-]{0,80}?)-----")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class PemBlock:
    """One ``-----BEGIN label-----`` block: its label, RFC 1421 headers and decoded contents."""

    label: str
    headers: tuple[tuple[str, str], ...]
    der: bytes
    number: int  # 1-based position in the file, for messages

    def header(self, key: str) -> str | None:
        """The value of a header such as ``Proc-Type`` (case-insensitive), or None."""
        return next((v for k, v in self.headers if k.lower() == key.lower()), None)

    def to_pem(self) -> bytes:
        """The block re-encoded with clean line ends (headers kept)."""
        lines = [f"-----BEGIN {self.label}-----"]
        if self.headers:
            lines += [f"{k}: {v}" for k, v in self.headers] + [""]
        b64 = base64.b64encode(self.der).decode("ascii")
        lines += [b64[i : i + 64] for i in range(0, len(b64), 64)]
        lines.append(f"-----END {self.label}-----")
        return ("\n".join(lines) + "\n").encode("latin-1")  # headers are raw file text


def has_pem(data: bytes) -> bool:
    """True when ``data`` contains a PEM begin line."""
    return b"-----BEGIN " in data


def find_blocks(data: bytes, name: str) -> list[PemBlock]:
    """All PEM blocks in ``data``, in order; text outside blocks is ignored.

    Raises:
        UnsupportedFormatError: A block without its END line, or with corrupt base64.
        InputTooLargeError: More than :data:`MAX_BLOCKS` blocks.
    """
    text = data.decode("latin-1")
    blocks: list[PemBlock] = []
    pos = 0
    while m := _BEGIN.search(text, pos):
        label = m.group(1)
        end_marker = f"-----END {label}-----"
        end = text.find(end_marker, m.end())
        if end < 0:
            raise UnsupportedFormatError(
                f"{name} has a corrupt PEM block ({label} #{len(blocks) + 1}): its END line is missing (truncated file?)"
            )
        if len(blocks) >= MAX_BLOCKS:
            raise InputTooLargeError(f"{name} holds more than {MAX_BLOCKS} PEM blocks")
        blocks.append(_block(label, text[m.end() : end], len(blocks) + 1, name))
        pos = end + len(end_marker)
    return blocks


def _block(label: str, body: str, number: int, name: str) -> PemBlock:
    # PEM pasted out of JSON or YAML often carries literal "\n" escapes instead of line breaks.
    if "\\" in body:
        body = body.replace("\\r", "\n").replace("\\n", "\n")
    headers: list[tuple[str, str]] = []
    if ":" in body:
        b64: list[str] = []
        for raw in body.splitlines():
            line = raw.strip()
            if ":" in line:  # base64 never contains ':', so this is an RFC 1421 header
                key, _, value = line.partition(":")
                headers.append((key.strip(), value.strip()))
            elif line:
                b64.append(line)
        payload = _WS.sub("", "".join(b64))
    else:  # no headers (most blocks): every line is base64
        payload = "".join(body.split())  # split() drops exactly the whitespace \s matches
    try:
        der = binascii.a2b_base64(payload.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as err:
        raise UnsupportedFormatError(
            f"{name} has a corrupt PEM block ({label} #{number}): the base64 text is damaged"
        ) from err
    if not der:
        raise UnsupportedFormatError(
            f"{name} has a corrupt PEM block ({label} #{number}): it is empty"
        )
    return PemBlock(label, tuple(headers), der, number)
