"""Text from certificates and peers, made safe to print (no cryptography here: CLIs load it first)."""

from __future__ import annotations

import contextlib


def escape_text(value: str) -> str:
    r"""``value`` with control and format characters written as ``\xNN``/``\uNNNN``.

    Certificates from appliances and old CAs may hold line breaks, escape sequences or
    right-to-left overrides in names; shown raw they would forge lines of output or hide text.
    """
    if value.isprintable():
        return value
    return "".join(_escape_char(c) for c in value)


def _escape_char(c: str) -> str:
    if c.isprintable() or c == " ":
        return c
    code = ord(c)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def error_text(err: BaseException) -> str:
    """``ClassName: message`` (at most 300 characters of the message) for a log line.

    Failures of background work are logged with this and no traceback: a traceback's frames may
    hold secrets (keys, passwords) that a log must never carry.
    """
    return f"{err.__class__.__name__}: {str(err)[:300]}"


def passphrase_line(data: bytes) -> bytes:
    """The passphrase in a passphrase file's bytes: its first line, without the line end.

    Files saved on Windows are read as they were meant: a UTF-8 byte-order mark (Notepad) is
    dropped, and UTF-16 with its byte-order mark (PowerShell 5's ``Out-File``, ``>``) is read as
    text and given as UTF-8. Other spaces are part of the passphrase.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        with contextlib.suppress(UnicodeDecodeError):  # not text after all: the bytes as they are
            data = data.decode("utf-16").encode("utf-8")
    return data.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].removesuffix(b"\r")
