"""Finding 15: the database (with its -wal/-shm) and every secret file are 0600 in a 0700 home.

``init`` makes them so whatever the umask; every command that opens a home (``serve`` too)
checks the modes at start, fixes loose ones with a message naming each file, and refuses a home
holding a file that belongs to another user.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.factories.homes import ADMIN_PASSWORD, run_cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _init(tmp_path: Path) -> Path:
    pw = tmp_path / "pw"
    pw.write_text(ADMIN_PASSWORD + "\n")
    home = tmp_path / "home"
    res = run_cli(["init", "--home", str(home), "--admin-password-file", str(pw)])
    assert res.code == 0, res.err
    return home


SECRETS = ("config.toml", "master.key", "certmgr.db", "tls/console.key", "ip_acl.txt")


def test_home_and_database_file_modes(tmp_path: Path, loose_umask: None) -> None:
    home = _init(tmp_path)
    assert _mode(home) == 0o700
    for name in SECRETS:
        assert _mode(home / name) == 0o600, name
    for sub in ("tls", "ca", "documents", "backups"):
        assert _mode(home / sub) == 0o700, sub

    # Loosen them (as a careless copy or restore would), then open the home with any command.
    os.chmod(home, 0o755)  # noqa: S103 - the loose mode under test
    for name in SECRETS:
        os.chmod(home / name, 0o644)
    os.chmod(home / "documents", 0o755)  # noqa: S103 - the loose mode under test
    res = run_cli(["certificate", "list", "--home", str(home)])
    assert res.code == 0, res.err
    assert _mode(home) == 0o700
    assert _mode(home / "documents") == 0o700
    for name in SECRETS:
        assert _mode(home / name) == 0o600, name
        assert str(home / name) in res.err, (name, res.err)

    # Nothing to fix: nothing said.
    res = run_cli(["certificate", "list", "--home", str(home)])
    assert res.code == 0 and "mode" not in res.err, res.err


def test_sqlite_database_and_wal_files_are_created_0600(tmp_path: Path, loose_umask: None) -> None:
    from certmgr.controller.db.engine import Database

    path = tmp_path / "fresh.db"

    async def run() -> dict[str, int]:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.engine.begin() as conn:
                await conn.execute(text("CREATE TABLE t (x INTEGER)"))
                await conn.execute(text("INSERT INTO t VALUES (1)"))
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT x FROM t"))
                return {
                    p.name: _mode(p) for p in tmp_path.iterdir() if p.name.startswith("fresh.db")
                }
        finally:
            await db.dispose()

    modes = asyncio.run(run())
    assert {"fresh.db", "fresh.db-wal", "fresh.db-shm"} <= set(modes), modes
    assert set(modes.values()) == {0o600}, modes


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_home_with_a_file_of_another_user_is_refused(tmp_path: Path, loose_umask: None) -> None:
    home = _init(tmp_path)
    os.chown(home / "master.key", 65534, 65534)
    res = run_cli(["certificate", "list", "--home", str(home)])
    assert res.code != 0
    assert str(home / "master.key") in res.err and "owned by" in res.err, res.err
