"""Payloads appended to an executable: how the controller stamps the one-click runtime.

A stamped file is the unchanged runtime followed by a start marker, the payload and a fixed-size
trailer::

    runtime bytes | MAGIC | payload | MAGIC  kind (16, NUL-padded ASCII)  length (u64 BE)  digest

The trailer sits at the very end, so :func:`read_stamp` reads only the tail of the file (seeking
from the end), whatever the runtime's size. PyInstaller's bootloader finds its own archive in an
ELF section and ignores bytes appended after it (RECIPES.md), so a stamped copy still runs; no
PyInstaller is needed to stamp. The digest is the SHA-256 of the kind field, the length field and
the payload: any flipped byte or a truncated copy is refused before the payload is looked at.

This module also holds the two payload formats the controller writes and the installer reads:
:func:`deploy_payload` (the controller's Ed25519 verify key beside a passphrase-sealed install
package) and :func:`cacert_payload` (a CA certificate for the trust-store installer).
"""

from __future__ import annotations

import hashlib
import hmac
import mmap
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, NamedTuple

from certmgr.shared.errors import EnvelopeError, InputError, InputTooLargeError, ValidationError

__all__ = [
    "KIND_CACERT",
    "KIND_DEPLOY",
    "MAGIC",
    "MAX_PAYLOAD",
    "TRAILER_SIZE",
    "CaCertPayload",
    "DamagedStampError",
    "DeployPayload",
    "NoStampError",
    "Stamp",
    "cacert_payload",
    "deploy_payload",
    "has_stamp",
    "parse_cacert_payload",
    "parse_deploy_payload",
    "read_stamp",
    "stamp",
]

MAGIC: Final = b"CMSTAMP1"
KIND_DEPLOY: Final = "deploy"
KIND_CACERT: Final = "cacert"
MAX_PAYLOAD: Final = 32 * 1024 * 1024
"""Largest payload stamped or read (bytes); install packages are capped at 20 MiB."""

_KIND_SIZE: Final = 16
_TRAILER: Final = struct.Struct(f"!8s{_KIND_SIZE}sQ32s")
TRAILER_SIZE: Final = _TRAILER.size
_KIND_RE: Final = re.compile(r"[a-z][a-z0-9-]{0,15}")

_DEPLOY_MAGIC: Final = b"CMDEPLOY1\x00"
_CACERT_MAGIC: Final = b"CMCACERT1\x00"
_VERIFY_KEY_SIZE: Final = 32
_U16: Final = struct.Struct("!H")
_MAX_NAME: Final = 200


class NoStampError(InputError):
    """The file carries no stamped payload (e.g. the bare runtime)."""


class DamagedStampError(EnvelopeError):
    """The stamped payload is truncated, garbled or fails its hash: the package is refused."""


class Stamp(NamedTuple):
    """What :func:`read_stamp` found: ``(kind, payload)``."""

    kind: str
    payload: bytes


def stamp(runtime: bytes | Path, payload: bytes, out: Path, kind: str) -> Path:
    """Write ``runtime`` followed by ``payload`` and a trailer to ``out`` (mode 0755, atomically).

    A runtime given as a path is copied by the kernel (``copy_file_range``/``sendfile``), so a
    25 MB runtime stamps in milliseconds. ``out`` appears complete or not at all.

    Args:
        runtime: The runtime executable, as bytes or as a path.
        payload: The bytes to carry.
        out: The file to write (replaced if it exists).
        kind: What the payload is (``"deploy"``, ``"cacert"``; lower-case, at most 16 chars).

    Returns:
        ``out``.

    Raises:
        ValidationError: ``kind`` is not a short lower-case word, or the runtime is already stamped.
        InputTooLargeError: The payload exceeds :data:`MAX_PAYLOAD`.
        InputError: The runtime cannot be read or ``out`` cannot be written.
    """
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise ValidationError(
            "kind must be 1-16 lower-case letters, digits or dashes", field="kind"
        )
    if len(payload) > MAX_PAYLOAD:
        raise InputTooLargeError(f"a stamped payload may be at most {MAX_PAYLOAD} bytes")
    if _tail_magic_bytes(runtime) if isinstance(runtime, bytes) else has_stamp(runtime):
        raise ValidationError("the runtime already carries a package", field="runtime")
    raw_kind = kind.encode("ascii").ljust(_KIND_SIZE, b"\x00")
    trailer = _TRAILER.pack(MAGIC, raw_kind, len(payload), _digest(raw_kind, len(payload), payload))
    out = Path(out)
    try:
        fd, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write to {out.parent}: {err.strerror}") from err
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(runtime, bytes):
                fh.write(runtime)
            else:
                with open(runtime, "rb") as src:
                    shutil.copyfileobj(src, fh)  # sendfile on Linux: no copy through Python
            fh.write(MAGIC)
            fh.write(payload)
            fh.write(trailer)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, 0o755)  # noqa: S103 - an executable for its owner and everyone who runs it
        os.replace(temp, out)
    except OSError as err:
        Path(temp).unlink(missing_ok=True)
        raise InputError(f"cannot stamp {out.name}: {err.strerror or err}") from err
    return out


def has_stamp(path: Path) -> bool:
    """True when ``path`` ends with a stamp trailer (checks the magic only, not the hash).

    Raises:
        InputError: The file cannot be read.
    """
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size < TRAILER_SIZE:
                return False
            fh.seek(size - TRAILER_SIZE)
            return fh.read(len(MAGIC)) == MAGIC
    except OSError as err:
        raise InputError(f"cannot read {Path(path).name}: {err.strerror}") from err


def read_stamp(path: Path) -> Stamp:
    """Read the payload stamped onto ``path``, reading only the end of the file.

    Args:
        path: The stamped executable (``sys.executable`` when frozen).

    Returns:
        The kind and the payload, whose SHA-256 matched the trailer.

    Raises:
        NoStampError: The file carries no package.
        DamagedStampError: The trailer is garbled, the file is truncated or a byte changed.
        InputError: The file cannot be read.
    """
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size >= TRAILER_SIZE:
                fh.seek(size - TRAILER_SIZE)
                magic, raw_kind, length, digest = _TRAILER.unpack(fh.read(TRAILER_SIZE))
            else:
                magic = b""
            if magic != MAGIC:
                if _marker_in_tail(fh, size):
                    raise _damaged()
                raise NoStampError("this installer carries no package")
            kind = raw_kind.rstrip(b"\x00").decode("ascii", errors="replace")
            start = size - TRAILER_SIZE - length
            if not _KIND_RE.fullmatch(kind) or length > MAX_PAYLOAD or start < len(MAGIC):
                raise _damaged()
            fh.seek(start - len(MAGIC))
            if fh.read(len(MAGIC)) != MAGIC:
                raise _damaged()
            payload = fh.read(length)
    except OSError as err:
        raise InputError(f"cannot read {Path(path).name}: {err.strerror}") from err
    if len(payload) != length or not hmac.compare_digest(
        _digest(raw_kind, length, payload), digest
    ):
        raise _damaged()
    return Stamp(kind, payload)


def _digest(raw_kind: bytes, length: int, payload: bytes) -> bytes:
    return hashlib.sha256(raw_kind + length.to_bytes(8, "big") + payload).digest()


def _damaged() -> DamagedStampError:
    return DamagedStampError(
        "the installer file is damaged or truncated (copy it again from the controller)"
    )


def _tail_magic_bytes(data: bytes) -> bool:
    return len(data) >= TRAILER_SIZE and data[-TRAILER_SIZE:].startswith(MAGIC)


def _marker_in_tail(fh: BinaryIO, size: int) -> bool:
    """Whether a start marker lies in the region a payload could occupy (a truncated stamp)."""
    if size == 0:
        return False
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
        lowest = max(0, size - MAX_PAYLOAD - TRAILER_SIZE - len(MAGIC))
        return view.rfind(MAGIC, lowest) >= 0


# --- payload formats -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployPayload:
    """A ``deploy`` stamp: the controller verify key, a display name and the sealed package."""

    verify_key: bytes  # raw Ed25519 public key (32 bytes)
    name: str
    package: bytes


@dataclass(frozen=True)
class CaCertPayload:
    """A ``cacert`` stamp: a display name and one CA certificate (PEM)."""

    name: str
    certificate_pem: bytes


def deploy_payload(verify_key: bytes, package: bytes, *, name: str = "") -> bytes:
    """Encode a ``deploy`` payload.

    Args:
        verify_key: The controller's raw Ed25519 verify key (``bytes(VerifyKey)``).
        package: A package from ``seal_with_passphrase``.
        name: The deployment's display name (shown before the passphrase is asked).

    Returns:
        The payload bytes for :func:`stamp`.

    Raises:
        ValidationError: The key is not 32 bytes, the package is empty or the name too long.
    """
    if len(verify_key) != _VERIFY_KEY_SIZE:
        raise ValidationError("the verify key must be 32 bytes", field="verify_key")
    if not package:
        raise ValidationError("the package is empty", field="package")
    return _DEPLOY_MAGIC + verify_key + _name_bytes(name) + package


def parse_deploy_payload(payload: bytes) -> DeployPayload:
    """Decode a ``deploy`` payload (the package inside is still sealed).

    Raises:
        DamagedStampError: The payload is not a deploy payload.
    """
    if not payload.startswith(_DEPLOY_MAGIC):
        raise _damaged()
    rest = payload[len(_DEPLOY_MAGIC) :]
    key, rest = rest[:_VERIFY_KEY_SIZE], rest[_VERIFY_KEY_SIZE:]
    name, package = _split_name(rest)
    if len(key) != _VERIFY_KEY_SIZE or not package:
        raise _damaged()
    return DeployPayload(key, name, package)


def cacert_payload(certificate_pem: bytes, *, name: str = "") -> bytes:
    """Encode a ``cacert`` payload.

    Raises:
        ValidationError: The certificate is empty or the name too long.
    """
    if not certificate_pem.strip():
        raise ValidationError("the CA certificate is empty", field="certificate")
    return _CACERT_MAGIC + _name_bytes(name) + certificate_pem


def parse_cacert_payload(payload: bytes) -> CaCertPayload:
    """Decode a ``cacert`` payload.

    Raises:
        DamagedStampError: The payload is not a CA-certificate payload.
    """
    if not payload.startswith(_CACERT_MAGIC):
        raise _damaged()
    name, pem = _split_name(payload[len(_CACERT_MAGIC) :])
    if not pem.strip():
        raise _damaged()
    return CaCertPayload(name, pem)


def _name_bytes(name: str) -> bytes:
    raw = name.encode("utf-8")
    if len(raw) > _MAX_NAME or any(ord(c) < 0x20 for c in name):
        raise ValidationError(
            f"the name must be printable and at most {_MAX_NAME} bytes", field="name"
        )
    return _U16.pack(len(raw)) + raw


def _split_name(data: bytes) -> tuple[str, bytes]:
    if len(data) < _U16.size:
        raise _damaged()
    (length,) = _U16.unpack_from(data)
    if length > _MAX_NAME or len(data) < _U16.size + length:
        raise _damaged()
    try:
        name = data[_U16.size : _U16.size + length].decode("utf-8")
    except UnicodeDecodeError as err:
        raise _damaged() from err
    return name, data[_U16.size + length :]
