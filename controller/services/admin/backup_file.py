"""The backup file format: one file, encrypted under a passphrase (Argon2id + AES-256-GCM in chunks).

Layout (integers big-endian)::

    header  = b"CMBACKUP" | version (1) | kdf (1, 1 = Argon2id) | opslimit (4) | memlimit (4)
              | salt (16) | nonce prefix (7) | chunk size (4)
    chunk*  = length (4) | AES-256-GCM(key, nonce, plaintext, aad=header)

The key is Argon2id(passphrase, salt, opslimit, memlimit). Chunk ``i`` uses the nonce ``prefix |
i (4) | last (1)`` (the STREAM construction): chunks cannot be reordered, dropped or moved to another
file, and a file cut after any chunk lacks the chunk marked last, so truncation is detected. The
plaintext is a zlib-compressed tar stream (``manifest.json`` last); nothing is ever written to disk
unencrypted by this module.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

import nacl.pwhash.argon2id as argon2id
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from certmgr.shared.errors import InputError, WrongPasswordError
from certmgr.shared.secret import Secret

MAGIC: Final = b"CMBACKUP"
VERSION: Final = 1
KDF_ARGON2ID: Final = 1
CHUNK_SIZE: Final = 64 * 1024  # small: each AES-GCM call holds the GIL briefly
MIN_PASSPHRASE: Final = 10
_HEAD = struct.Struct(">8sBBII16s7sI")
HEADER_SIZE: Final = _HEAD.size
_LEN = struct.Struct(">I")
_TAG = 16


class DamagedBackupError(InputError):
    """The file is not a certmgr backup, or it is truncated or altered."""


@dataclass(frozen=True)
class Header:
    """The clear-text header of a backup file (also the AEAD's associated data)."""

    opslimit: int
    memlimit: int
    salt: bytes
    prefix: bytes
    chunk_size: int = CHUNK_SIZE
    version: int = VERSION

    def pack(self) -> bytes:
        """The header bytes."""
        return _HEAD.pack(
            MAGIC,
            self.version,
            KDF_ARGON2ID,
            self.opslimit,
            self.memlimit,
            self.salt,
            self.prefix,
            self.chunk_size,
        )

    @classmethod
    def new(cls) -> Header:
        """A header with a fresh salt and nonce prefix and libsodium's MODERATE Argon2id cost."""
        return cls(
            argon2id.OPSLIMIT_MODERATE,
            argon2id.MEMLIMIT_MODERATE,
            os.urandom(argon2id.SALTBYTES),
            os.urandom(7),
        )

    @classmethod
    def parse(cls, raw: bytes) -> Header:
        """Read a header.

        Raises:
            DamagedBackupError: Not a certmgr backup, an unknown version or absurd parameters.
        """
        if len(raw) < HEADER_SIZE or not raw.startswith(MAGIC):
            raise DamagedBackupError("not a certmgr backup file (no CMBACKUP header)")
        _m, version, kdf, ops, mem, salt, prefix, chunk = _HEAD.unpack(raw[:HEADER_SIZE])
        if version != VERSION or kdf != KDF_ARGON2ID:
            raise DamagedBackupError(
                f"backup format version {version} (KDF {kdf}) is not supported by this certmgr"
            )
        if not (
            argon2id.OPSLIMIT_MIN <= ops <= argon2id.OPSLIMIT_SENSITIVE
            and argon2id.MEMLIMIT_MIN <= mem <= argon2id.MEMLIMIT_SENSITIVE
            and 1024 <= chunk <= 64 * 1024 * 1024
        ):
            raise DamagedBackupError("the backup header is damaged (parameters out of range)")
        return cls(ops, mem, salt, prefix, chunk, version)


def check_passphrase(passphrase: bytes) -> None:
    """Refuse passphrases too short to protect a backup.

    Raises:
        InputError: Shorter than 10 characters.
    """
    if len(passphrase) < MIN_PASSPHRASE:
        raise InputError(f"the backup passphrase must have at least {MIN_PASSPHRASE} characters")


def derive_key(passphrase: bytes, header: Header) -> Secret[bytes]:
    """Argon2id(passphrase) for this header (CPU- and memory-heavy: call it in a worker thread)."""
    return Secret(
        argon2id.kdf(
            32, passphrase, header.salt, opslimit=header.opslimit, memlimit=header.memlimit
        )
    )


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if last else 0)


class EncryptingWriter:
    """A write-only file object that encrypts into ``out`` chunk by chunk (for ``tarfile``)."""

    def __init__(self, out: BinaryIO, key: Secret[bytes], header: Header) -> None:
        """Write the header to ``out`` at once."""
        self._out, self._header = out, header
        self._aad = header.pack()
        self._aead = AESGCM(key.reveal())
        self._buf = bytearray()
        self._index = 0
        self._z = zlib.compressobj(6)
        self.closed = False
        out.write(self._aad)

    def write(self, data: bytes) -> int:
        """Compress and buffer ``data``; full chunks are encrypted and written."""
        self._push(self._z.compress(data))
        return len(data)

    def _push(self, data: bytes) -> None:
        self._buf += data
        size = self._header.chunk_size
        while len(self._buf) > size:
            self._emit(bytes(self._buf[:size]), last=False)
            del self._buf[:size]

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        if self._index >= 0xFFFFFFFF:
            raise InputError("the backup is too large for the file format")
        ct = self._aead.encrypt(_nonce(self._header.prefix, self._index, last), chunk, self._aad)
        self._out.write(_LEN.pack(len(ct)) + ct)
        self._index += 1

    def flush(self) -> None:
        """Nothing to do until :meth:`finish` (a partial chunk waits for more data)."""

    def finish(self) -> None:
        """Encrypt what is left as the last chunk."""
        self._push(self._z.flush())
        self._emit(bytes(self._buf), last=True)
        self._buf.clear()
        self.closed = True


def read_header(fh: BinaryIO) -> Header:
    """Read and check the header at the start of ``fh``.

    Raises:
        DamagedBackupError: Not a certmgr backup.
    """
    return Header.parse(fh.read(HEADER_SIZE))


def decrypt_chunks(fh: BinaryIO, key: Secret[bytes], header: Header) -> Iterator[bytes]:
    """The plaintext chunks of a backup, each authenticated before it is yielded.

    Raises:
        WrongPasswordError: The first chunk does not open (wrong passphrase or altered file).
        DamagedBackupError: A later chunk is altered, the file is cut short or has data after its end.
    """
    aad = header.pack()
    aead = AESGCM(key.reveal())
    limit = header.chunk_size + _TAG
    index = 0
    while True:
        raw_len = fh.read(_LEN.size)
        if len(raw_len) < _LEN.size:
            raise DamagedBackupError(
                "the backup file is truncated (its last part is missing); nothing was restored"
            )
        (n,) = _LEN.unpack(raw_len)
        if not _TAG <= n <= limit:
            raise DamagedBackupError(f"the backup file is damaged at part {index + 1}")
        ct = fh.read(n)
        if len(ct) < n:
            raise DamagedBackupError(
                "the backup file is truncated (its last part is missing); nothing was restored"
            )
        plain, last = _open(aead, header.prefix, index, ct, aad)
        yield plain
        if last:
            if fh.read(1):
                raise DamagedBackupError("the backup file has unexpected data after its end")
            return
        index += 1


def _open(aead: AESGCM, prefix: bytes, index: int, ct: bytes, aad: bytes) -> tuple[bytes, bool]:
    for last in (False, True):
        try:
            return aead.decrypt(_nonce(prefix, index, last), ct, aad), last
        except InvalidTag:
            continue
    if index == 0:
        raise WrongPasswordError(
            "the backup passphrase is wrong (or the file was altered); nothing was restored"
        )
    raise DamagedBackupError(
        f"the backup file was altered or damaged (part {index + 1} fails authentication)"
    )


class DecryptingReader:
    """A read-only file object over the plaintext of a backup (for ``tarfile`` in stream mode)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        """Wrap an iterator of decrypted (compressed) chunks."""
        self._chunks = _inflate(chunks)
        self._buf = b""
        self._done = False

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when ``size`` < 0)."""
        while not self._done and (size < 0 or len(self._buf) < size):
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                self._done = True
        if size < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def drain(self) -> None:
        """Read to the end (every chunk authenticated, the last one present)."""
        while self.read(1024 * 1024):
            pass


def _inflate(chunks: Iterator[bytes]) -> Iterator[bytes]:
    z = zlib.decompressobj()
    try:
        for chunk in chunks:
            yield z.decompress(chunk)
        yield z.flush()
    except zlib.error as err:
        raise DamagedBackupError("the backup's content is damaged (cannot decompress)") from err
    if not z.eof:
        raise DamagedBackupError("the backup's content ends early")
