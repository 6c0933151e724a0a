"""The backup file format: round trip, and every kind of damage refused (in memory, cheap Argon2id)."""

from __future__ import annotations

import io
import os

import nacl.pwhash.argon2id as argon2id
import pytest

from certmgr.controller.services.admin.backup_file import (
    HEADER_SIZE,
    DamagedBackupError,
    DecryptingReader,
    EncryptingWriter,
    Header,
    check_passphrase,
    decrypt_chunks,
    derive_key,
    read_header,
)
from certmgr.shared.errors import InputError, WrongPasswordError

PASS = b"correct horse battery"


def _header(chunk: int = 1024) -> Header:
    return Header(
        argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN, os.urandom(16), os.urandom(7), chunk
    )


def _encrypt(data: bytes, header: Header, passphrase: bytes = PASS) -> bytes:
    out = io.BytesIO()
    w = EncryptingWriter(out, derive_key(passphrase, header), header)
    for i in range(0, len(data), 777):
        w.write(data[i : i + 777])
    w.finish()
    return out.getvalue()


def _decrypt(blob: bytes, passphrase: bytes = PASS) -> bytes:
    fh = io.BytesIO(blob)
    header = read_header(fh)
    return DecryptingReader(decrypt_chunks(fh, derive_key(passphrase, header), header)).read()


DATA = os.urandom(20_000) + b"x" * 50_000  # several chunks even after compression


def test_round_trip() -> None:
    blob = _encrypt(DATA, _header())
    assert _decrypt(blob) == DATA
    assert DATA[:64] not in blob


def test_wrong_passphrase_is_named() -> None:
    with pytest.raises(WrongPasswordError, match="passphrase is wrong"):
        _decrypt(_encrypt(DATA, _header()), b"another passphrase")


@pytest.mark.parametrize("cut", [HEADER_SIZE + 10, 5000, -1])
def test_truncated_file_is_refused(cut: int) -> None:
    blob = _encrypt(DATA, _header())
    with pytest.raises(DamagedBackupError, match="truncated|damaged"):
        _decrypt(blob[:cut])


def test_file_cut_at_a_chunk_boundary_is_refused() -> None:
    header = _header()
    blob = _encrypt(DATA, header)
    # drop the last chunk whole: every remaining chunk authenticates, none is marked last
    offsets = []
    pos = HEADER_SIZE
    while pos < len(blob):
        offsets.append(pos)
        pos += 4 + int.from_bytes(blob[pos : pos + 4], "big")
    assert len(offsets) > 2
    with pytest.raises(DamagedBackupError, match="truncated"):
        _decrypt(blob[: offsets[-1]])


@pytest.mark.parametrize("where", [HEADER_SIZE + 20, 3000, -5])
def test_tampered_byte_is_refused(where: int) -> None:
    blob = bytearray(_encrypt(DATA, _header()))
    blob[where] ^= 0x01
    with pytest.raises((DamagedBackupError, WrongPasswordError)):
        _decrypt(bytes(blob))


def test_tampered_header_is_refused() -> None:
    blob = bytearray(_encrypt(DATA, _header()))
    blob[HEADER_SIZE - 1] ^= 0x01  # the chunk size: part of every chunk's associated data
    with pytest.raises((DamagedBackupError, WrongPasswordError)):
        _decrypt(bytes(blob))


def test_appended_data_is_refused() -> None:
    with pytest.raises(DamagedBackupError, match="after its end"):
        _decrypt(_encrypt(DATA, _header()) + b"more")


def test_not_a_backup() -> None:
    with pytest.raises(DamagedBackupError, match="not a certmgr backup"):
        _decrypt(b"PK\x03\x04" + b"\x00" * 100)


def test_short_passphrase_refused() -> None:
    with pytest.raises(InputError, match="at least 10"):
        check_passphrase(b"short")
