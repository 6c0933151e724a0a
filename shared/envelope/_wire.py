"""Binary layout shared by the sealing and the opening side.

Every package starts with ``MAGIC`` (4 bytes), the wire version (1 byte) and the kind (1 byte).

- Agent packages (kind 1): header, then ``SealedBox(agent X25519 public key)`` of the signed payload.
- Passphrase packages (kind 2): header, salt (16), Argon2id opslimit (u32, big-endian), memlimit in
  bytes (u64), a 16-byte header tag, then ``SecretBox`` (nonce + MAC + ciphertext) of the signed payload.
  Argon2id(passphrase, salt, limits) gives 64 bytes: the box key and a key for the header tag, a
  keyed BLAKE2b over everything before it. The tag tells a wrong passphrase (tag differs) from a
  damaged ciphertext (tag right, MAC wrong).

The signed payload is the 64-byte Ed25519 signature followed by the canonical manifest JSON. The
signature covers a domain string, the kind and the recipient (the agent's X25519 public key, or 32
zero bytes for passphrase packages) before the JSON, so a package cannot be re-sealed to another
agent or re-wrapped under a passphrase by whoever could open it.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Final

import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.pwhash.argon2id as argon2id
import nacl.signing

from certmgr.shared.envelope.manifest import MalformedPackageError, UnsupportedPackageVersionError
from certmgr.shared.errors import ValidationError

MAGIC: Final = b"CMPK"
WIRE_VERSION: Final = 1
MAX_PACKAGE_SIZE: Final = 20 * 1024 * 1024
"""Largest package accepted or produced (bytes)."""

SIGNATURE_SIZE: Final = 64
RECIPIENT_SIZE: Final = 32
SALT_SIZE: Final = argon2id.SALTBYTES
TAG_SIZE: Final = 16
_SIGN_DOMAIN: Final = b"certmgr install package v1\x00"
_HEADER: Final = struct.Struct("!4sBB")
_KDF: Final = struct.Struct("!16sIQ")
PASSPHRASE_PREFIX_SIZE: Final = _HEADER.size + _KDF.size + TAG_SIZE


class PackageKind(IntEnum):
    """How a package is encrypted."""

    AGENT = 1
    PASSPHRASE = 2


@dataclass(frozen=True)
class KdfLimits:
    """Argon2id cost of a passphrase package (libsodium ``opslimit`` and ``memlimit`` in bytes)."""

    opslimit: int
    memlimit: int

    INTERACTIVE: ClassVar[KdfLimits]
    MODERATE: ClassVar[KdfLimits]

    def check(self) -> None:
        """Refuse limits outside libsodium's INTERACTIVE..SENSITIVE range.

        The upper bound stops a crafted header from making the opener spend minutes or gigabytes.

        Raises:
            ValidationError: A limit is out of range.
        """
        if not argon2id.OPSLIMIT_INTERACTIVE <= self.opslimit <= argon2id.OPSLIMIT_SENSITIVE:
            raise ValidationError("Argon2id opslimit out of range", field="opslimit")
        if not argon2id.MEMLIMIT_INTERACTIVE <= self.memlimit <= argon2id.MEMLIMIT_SENSITIVE:
            raise ValidationError("Argon2id memlimit out of range", field="memlimit")


KdfLimits.INTERACTIVE = KdfLimits(argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE)
KdfLimits.MODERATE = KdfLimits(argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE)


def key_id(verify_key: nacl.signing.VerifyKey) -> str:
    """The id of a controller signing key: hex SHA-256 of the raw public key, first 32 digits."""
    return hashlib.sha256(bytes(verify_key)).hexdigest()[:32]


def header(kind: PackageKind) -> bytes:
    """The fixed 6-byte header of a package of ``kind``."""
    return _HEADER.pack(MAGIC, WIRE_VERSION, int(kind))


def split_header(blob: bytes) -> tuple[PackageKind, bytes]:
    """Check size, magic and version; return the kind and the rest of the blob.

    Raises:
        MalformedPackageError: Too large, too short, not a package or an unknown kind.
        UnsupportedPackageVersionError: A wire version this program does not read.
    """
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise MalformedPackageError("a package must be bytes")
    if len(blob) > MAX_PACKAGE_SIZE:
        raise MalformedPackageError(
            f"package is larger than the {MAX_PACKAGE_SIZE // (1024 * 1024)} MiB cap"
        )
    if len(blob) < _HEADER.size:
        raise MalformedPackageError("package is truncated")
    magic, version, kind = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise MalformedPackageError("not a certmgr install package")
    if version != WIRE_VERSION:
        raise UnsupportedPackageVersionError(
            f"package wire version {version} is not supported (this program reads {WIRE_VERSION})"
        )
    try:
        return PackageKind(kind), bytes(blob[_HEADER.size :])
    except ValueError as err:
        raise MalformedPackageError(f"unknown package kind {kind}") from err


def pack_kdf(salt: bytes, limits: KdfLimits) -> bytes:
    """Salt and limits as stored after the header of a passphrase package."""
    return _KDF.pack(salt, limits.opslimit, limits.memlimit)


def unpack_kdf(body: bytes) -> tuple[bytes, KdfLimits, bytes, bytes]:
    """Split a passphrase package body into salt, limits, header tag and the SecretBox.

    Raises:
        MalformedPackageError: Truncated, or limits out of the accepted range.
    """
    if len(body) < _KDF.size + TAG_SIZE:
        raise MalformedPackageError("package is truncated")
    salt, ops, mem = _KDF.unpack_from(body)
    limits = KdfLimits(ops, mem)
    try:
        limits.check()
    except ValidationError as err:
        raise MalformedPackageError("package asks for unsupported key-derivation limits") from err
    tag = body[_KDF.size : _KDF.size + TAG_SIZE]
    return salt, limits, tag, body[_KDF.size + TAG_SIZE :]


def derive_keys(passphrase: bytes, salt: bytes, limits: KdfLimits) -> tuple[bytes, bytes]:
    """Argon2id -> (SecretBox key, header-tag key).

    Raises:
        ValidationError: libsodium refused the parameters.
    """
    try:
        out = argon2id.kdf(64, passphrase, salt, opslimit=limits.opslimit, memlimit=limits.memlimit)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as err:
        raise ValidationError("key derivation failed", field="passphrase") from err
    return out[:32], out[32:]


def header_tag(prefix: bytes, tag_key: bytes) -> bytes:
    """Keyed BLAKE2b over the header, salt and limits."""
    return nacl.hash.blake2b(
        prefix, digest_size=TAG_SIZE, key=tag_key, encoder=nacl.encoding.RawEncoder
    )


def signed_message(kind: PackageKind, recipient: bytes, manifest_json: bytes) -> bytes:
    """The exact bytes the controller signs."""
    return _SIGN_DOMAIN + bytes([int(kind)]) + recipient + manifest_json


NO_RECIPIENT: Final = bytes(RECIPIENT_SIZE)
