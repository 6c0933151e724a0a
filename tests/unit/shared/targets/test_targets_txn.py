"""FileTransaction: atomic writes, byte-identical rollback with modes and owners, commit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from certmgr.shared.errors import RollbackFailedError, TargetError, TargetMisconfiguredError
from certmgr.shared.targets import FileTransaction, PlannedFile

from .conftest import ScriptedHost, snapshot


class FaultyHost(ScriptedHost):
    """Fails the n-th rename (and, optionally, every rename during rollback)."""

    fail_on_replace: int = 0
    fail_restores: bool = False
    replaces: int = 0

    def replace(self, src: str, dst: str) -> None:
        self.replaces += 1
        if self.replaces == self.fail_on_replace or (
            self.fail_restores and ".certmgr-backup-" in src
        ):
            raise TargetError(f"cannot rename {src}")
        super().replace(src, dst)


@pytest.fixture
def faulty(tmp_path: Path) -> FaultyHost:
    root = tmp_path / "root"
    root.mkdir()
    return FaultyHost(root)


def _seed(host: ScriptedHost) -> None:
    host.put("/tls/cert.pem", b"old cert\n", 0o644)
    host.put("/tls/key.pem", b"old key\n", 0o600)
    os.chown(host.local("/tls/key.pem"), 65534, 65534)
    host.put("/tls/unrelated.txt", b"keep me", 0o600)


FILES = (
    PlannedFile("/tls/cert.pem", b"new cert\n", 0o644),
    PlannedFile("/tls/key.pem", b"new key\n", 0o640, group="0"),
    PlannedFile("/tls/chain.pem", b"new chain\n", 0o644),
)


def test_write_then_commit(host: ScriptedHost) -> None:
    _seed(host)
    with FileTransaction(host) as txn:
        txn.write_all(FILES)
        assert len(txn.backups) == 2
        kept = txn.commit()
    assert kept == ()
    assert host.local("/tls/cert.pem").read_bytes() == b"new cert\n"
    key = host.local("/tls/key.pem").stat()
    assert key.st_mode & 0o7777 == 0o640
    assert (key.st_uid, key.st_gid) == (
        65534,
        0,
    )  # owner kept from the old file, group as configured
    assert host.local("/tls/chain.pem").read_bytes() == b"new chain\n"
    assert sorted(p.name for p in host.local("/tls").iterdir()) == [
        "cert.pem",
        "chain.pem",
        "key.pem",
        "unrelated.txt",
    ]


def test_commit_can_keep_backups(host: ScriptedHost) -> None:
    _seed(host)
    txn = FileTransaction(host)
    txn.write_all(FILES)
    kept = txn.commit(keep_backups=True)
    assert len(kept) == 2
    assert {host.local(p).read_bytes() for p in kept} == {b"old cert\n", b"old key\n"}


def test_rollback_is_byte_identical(host: ScriptedHost) -> None:
    _seed(host)
    before = snapshot(host.root)
    inode = host.local("/tls/cert.pem").stat().st_ino
    txn = FileTransaction(host)
    txn.write_all(FILES)
    assert snapshot(host.root) != before
    txn.rollback()
    assert snapshot(host.root) == before
    assert host.local("/tls/cert.pem").stat().st_ino == inode
    assert not host.local("/tls/chain.pem").exists()


def test_context_manager_rolls_back_on_error(host: ScriptedHost) -> None:
    _seed(host)
    before = snapshot(host.root)

    def failing_step() -> None:
        with FileTransaction(host) as txn:
            txn.write_all(FILES)
            raise RuntimeError("validate failed")

    with pytest.raises(RuntimeError):
        failing_step()
    assert snapshot(host.root) == before


def test_failure_mid_write_leaves_nothing_behind(faulty: FaultyHost) -> None:
    _seed(faulty)
    before = snapshot(faulty.root)
    faulty.fail_on_replace = 2  # the first file is already renamed when the second fails
    with pytest.raises(TargetError), FileTransaction(faulty) as txn:
        txn.write_all(FILES)
    assert snapshot(faulty.root) == before


def test_rollback_failure_is_reported(faulty: FaultyHost) -> None:
    _seed(faulty)
    faulty.fail_restores = True
    txn = FileTransaction(faulty)
    txn.write_all(FILES)
    with pytest.raises(RollbackFailedError, match="/tls/cert.pem"):
        txn.rollback()


def test_missing_directory_and_non_regular_files(host: ScriptedHost) -> None:
    with pytest.raises(TargetMisconfiguredError, match="does not exist"):
        FileTransaction(host).write_all([PlannedFile("/nowhere/cert.pem", b"x")])
    host.local("/tls/cert.pem").mkdir(parents=True)
    before = snapshot(host.root)
    with (
        pytest.raises(TargetMisconfiguredError, match="not a regular file"),
        FileTransaction(host) as txn,
    ):
        txn.write_all([PlannedFile("/tls/ok.pem", b"x"), PlannedFile("/tls/cert.pem", b"x")])
    assert snapshot(host.root) == before
    assert list(host.local("/tls").iterdir()) == [host.local("/tls/cert.pem")]


def test_duplicate_paths_and_unknown_owner(host: ScriptedHost) -> None:
    host.local("/tls").mkdir()
    with pytest.raises(TargetMisconfiguredError, match="twice"):
        FileTransaction(host).write_all([PlannedFile("/tls/a", b"1"), PlannedFile("/tls/a", b"2")])
    with (
        pytest.raises(TargetMisconfiguredError, match="no such user"),
        FileTransaction(host) as txn,
    ):
        txn.write_all([PlannedFile("/tls/a", b"1", owner="no-such-user-here")])
    assert list(host.local("/tls").iterdir()) == []


def test_finished_transactions_refuse_more_work(host: ScriptedHost) -> None:
    host.local("/tls").mkdir()
    txn = FileTransaction(host)
    txn.write_all([PlannedFile("/tls/a", b"1")])
    txn.commit()
    txn.rollback()  # a no-op after commit
    assert host.local("/tls/a").read_bytes() == b"1"
    with pytest.raises(TargetError):
        txn.write_all([PlannedFile("/tls/b", b"2")])
    with pytest.raises(TargetError):
        txn.commit()
