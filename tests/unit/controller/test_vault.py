from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from certmgr.controller.vault import MasterKey, UnsealError, read_master_key, write_master_key
from certmgr.shared.errors import ConfigurationError


def test_seal_roundtrip_and_purpose_binding() -> None:
    mk = MasterKey.generate()
    sealed = mk.seal(b"secret key bytes", "private-key")
    assert b"secret key bytes" not in sealed
    assert mk.unseal(sealed, "private-key") == b"secret key bytes"
    with pytest.raises(UnsealError):
        mk.unseal(sealed, "smtp-password")


def test_tampering_is_detected() -> None:
    mk = MasterKey.generate()
    sealed = bytearray(mk.seal(b"x" * 40, "p"))
    sealed[-5] ^= 1
    with pytest.raises(UnsealError):
        mk.unseal(bytes(sealed), "p")
    with pytest.raises(UnsealError):
        mk.unseal(b"garbage", "p")
    with pytest.raises(UnsealError):
        mk.unseal(b"CM1\xff" + b"\0" * 30, "p")


def test_rotation_keeps_old_values_readable() -> None:
    mk = MasterKey.generate()
    old = mk.seal(b"a", "p")
    new_mk = mk.with_new_key()
    assert new_mk.active_kid != mk.active_kid
    assert new_mk.unseal(old, "p") == b"a"
    assert new_mk.kid_of(new_mk.seal(b"b", "p")) == new_mk.active_kid
    with pytest.raises(UnsealError, match="not in the key file"):
        new_mk.only_active().unseal(old, "p")


def test_repr_hides_keys() -> None:
    mk = MasterKey.generate()
    raw = mk.keys[0][1].reveal()
    assert raw.hex() not in repr(mk)
    assert str(raw) not in repr(mk)


def test_key_file_mode_and_permissions(tmp_path: Path) -> None:
    p = tmp_path / "master.key"
    mk = MasterKey.generate()
    write_master_key(p, mk)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert read_master_key(p).active_kid == mk.active_kid
    os.chmod(p, 0o644)
    with pytest.raises(ConfigurationError, match="readable by others"):
        read_master_key(p)


@pytest.mark.parametrize(
    "text", ["", "# only comments\n", "k1 not-base64!!\n", "k1 AAAA\n", "one two three\n"]
)
def test_malformed_key_file(text: str) -> None:
    with pytest.raises(ConfigurationError):
        MasterKey.from_text(text)
