"""certmgr init: the home folder, refusal without --force, backups, secrets at rest."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from certmgr.controller.db.engine import Database
from certmgr.controller.settings import load_settings
from tests.factories.homes import all_database_bytes, make_home, run_cli


def test_init_makes_everything(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    assert (home / "config.toml").is_file()
    assert stat.S_IMODE((home / "master.key").stat().st_mode) == 0o600
    assert (home / "ca" / "ca.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (home / "ca" / "crl.pem").is_file()
    assert b"ENCRYPTED PRIVATE KEY" in (home / "tls" / "console.key").read_bytes()
    assert stat.S_IMODE((home / "tls" / "console.key").stat().st_mode) == 0o600
    settings = load_settings(home)

    async def rev() -> str | None:
        db = Database(settings.database_url)
        try:
            await db.check_ready()
            return await db.current_revision()
        finally:
            await db.dispose()

    assert asyncio.run(rev()) is not None
    users = run_cli(["user", "list", "--home", str(home), "--json"]).json()
    assert [u["username"] for u in users] == ["admin"]
    info = run_cli(["ca", "info", "--home", str(home), "--json"]).json()
    assert info[0]["status"] == "active" and info[0]["kind"] == "root"


def test_generated_admin_password_is_printed_once(tmp_path: Path) -> None:
    home = tmp_path / "h"
    res = run_cli(["init", "--home", str(home)])
    assert res.code == 0, res.err
    assert "one-time password" in res.out
    password = res.out.strip().splitlines()[-1].strip()
    assert len(password) >= 16
    # The password is stored only as an Argon2id hash.
    blob = all_database_bytes(load_settings(home).database_url)
    assert password.encode() not in blob
    assert b"$argon2id$" in blob


def test_init_refuses_existing_home_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert run_cli(["init", "--home", str(home)]).code == 0
    before = {
        p: p.read_bytes()
        for p in home.rglob("*")
        if p.is_file() and "-wal" not in p.name and "-shm" not in p.name
    }
    res = run_cli(["init", "--home", str(home)])
    assert res.code == 4
    assert "--force" in res.err
    after = {
        p: p.read_bytes()
        for p in home.rglob("*")
        if p.is_file() and "-wal" not in p.name and "-shm" not in p.name
    }
    assert before == after


def test_init_force_keeps_a_backup(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert run_cli(["init", "--home", str(home)]).code == 0
    old_key = (home / "master.key").read_bytes()
    res = run_cli(["init", "--home", str(home), "--force"])
    assert res.code == 0, res.err
    backups = list(tmp_path.glob("h.backup-*"))
    assert len(backups) == 1
    assert (backups[0] / "master.key").read_bytes() == old_key
    assert (home / "master.key").read_bytes() != old_key


def test_init_refuses_non_empty_folder(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "precious.txt").write_text("keep me")
    res = run_cli(["init", "--home", str(home)])
    assert res.code == 4
    assert (home / "precious.txt").read_text() == "keep me"
    assert not (home / "config.toml").exists()


def test_weak_admin_password_file_is_refused(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("short\n")
    res = run_cli(["init", "--home", str(tmp_path / "h"), "--admin-password-file", str(pw)])
    assert res.code == 2
    assert "at least" in res.err
    assert not (tmp_path / "h").exists()


def test_home_from_environment(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("CERTMGR_HOME", str(tmp_path / "envhome"))
        assert run_cli(["init"]).code == 0
        assert (tmp_path / "envhome" / "config.toml").is_file()
        assert run_cli(["definition", "list", "--json"]).json()[0]["name"] == "certmgr console"
    finally:
        mp.undo()


def test_commands_on_missing_home_explain(tmp_path: Path) -> None:
    res = run_cli(["definition", "list", "--home", str(tmp_path / "nope")])
    assert res.code == 6
    assert "certmgr init" in res.err


def test_rotate_master_key_reseals_everything(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    old_text = (home / "master.key").read_text()
    res = run_cli(["rotate-master-key", "--home", str(home), "--drop-old"])
    assert res.code == 0, res.err
    new_text = (home / "master.key").read_text()
    assert new_text != old_text
    assert len([ln for ln in new_text.splitlines() if ln and not ln.startswith("#")]) == 1
    # Everything is still readable with only the new key: issuing needs the CA key.
    assert run_cli(["ca", "issue", "certmgr console", "--home", str(home)]).code == 0
    assert run_cli(["ca", "gen-crl", "--home", str(home)]).code == 0
