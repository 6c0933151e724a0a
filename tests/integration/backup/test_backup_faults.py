"""Backups on SQLite and PostgreSQL: verify, restore and every refusal, faults and consistency under writes."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AuditEvent, CertificateDefinition, Finding
from certmgr.controller.domain.actors import cli_actor
from certmgr.controller.services.acquisition.definitions import DefinitionSpec, create_definition
from certmgr.controller.services.admin.backup import list_runs, take_backup
from certmgr.controller.services.admin.restore import restore_backup
from certmgr.controller.settings import load_settings
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import ConfigurationError
from tests.factories.backups import PASSPHRASE, home_snapshot, passphrase_file
from tests.factories.homes import amake_home, arun_cli
from tests.factories.postgres import create_database

PW = PASSPHRASE.encode()


async def _target_db(database_url: str, request: pytest.FixtureRequest) -> str | None:
    if database_url.startswith("sqlite"):
        return None
    dsn = request.getfixturevalue("postgres_dsn")
    return await asyncio.to_thread(create_database, dsn, "r_" + uuid.uuid4().hex[:12])


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith("certmgr.db")
    }


async def _table_names(url: str) -> set[str]:
    from sqlalchemy import inspect

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.dispose()


async def test_backup_verify_restore_and_refusals(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ["--home", str(home)]
    pw = passphrase_file(tmp_path)
    backup = tmp_path / "b.cmbk"
    res = await arun_cli(["backup", "--out", str(backup), "--passphrase-file", str(pw), *h])
    assert res.code == 0, res.err
    assert "master key is NOT in this backup" in res.out
    v = await arun_cli(["backup", "verify", str(backup), "--passphrase-file", str(pw), "--json"])
    assert v.code == 0, v.err
    info = v.json()
    assert info["ok"] and not info["master_key_included"]
    assert info["database"] == ("sqlite" if database_url.startswith("sqlite") else "postgresql")
    listed = (await arun_cli(["backup", "list", "--json", *h])).json()
    assert [(r["result"], r["size"]) for r in listed] == [("ok", backup.stat().st_size)]

    target = tmp_path / "restored"
    base = ["restore", str(backup), "--passphrase-file", str(pw), "--home", str(target)]
    key = ["--master-key", str(home / "master.key")]
    new_db = await _target_db(database_url, request)
    dbarg = ["--database-url", new_db] if new_db else []

    # refused before anything is written: no master key, wrong passphrase, truncated, tampered
    no_key = await arun_cli([*base, *dbarg])
    assert no_key.code == 2 and "--master-key" in no_key.err
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    bad_pw = await arun_cli(["restore", str(backup), "--passphrase-file", str(wrong), "--home", str(target), *key, *dbarg])  # fmt: skip
    assert bad_pw.code == 2 and "passphrase is wrong" in bad_pw.err
    blob = backup.read_bytes()
    cut = tmp_path / "cut.cmbk"
    cut.write_bytes(blob[: len(blob) - 100])
    tampered = tmp_path / "tampered.cmbk"
    tampered.write_bytes(blob[:-40] + bytes([blob[-40] ^ 1]) + blob[-39:])
    for damaged, words in ((cut, "truncated"), (tampered, "altered")):
        r = await arun_cli(["restore", str(damaged), "--passphrase-file", str(pw), "--home", str(target), *key, *dbarg])  # fmt: skip
        assert r.code == 2 and words in r.err, r.err
        vr = await arun_cli(["backup", "verify", str(damaged), "--passphrase-file", str(pw)])
        assert vr.code == 2
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if ".restore-" in p.name] == []
    if new_db:
        assert await _table_names(new_db) == set()
        missing = await arun_cli([*base, *key])
        assert missing.code == 2 and "--database-url" in missing.err

    # a home in use and a non-empty folder are never overwritten
    in_use = await arun_cli(
        ["restore", str(backup), "--passphrase-file", str(pw), *h, *key, *dbarg]
    )
    assert in_use.code == 4 and "refuses to overwrite a home" in in_use.err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    r = await arun_cli(["restore", str(backup), "--passphrase-file", str(pw), "--home", str(busy), *key, *dbarg])  # fmt: skip
    assert r.code == 4 and "not empty" in r.err
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]

    ok = await arun_cli([*base, *key, *dbarg])
    assert ok.code == 0, ok.err
    assert await asyncio.to_thread(home_snapshot, target) == await asyncio.to_thread(
        home_snapshot, home
    )
    assert (target / "master.key").stat().st_mode & 0o777 == 0o600
    assert (target / "config.toml").stat().st_mode & 0o777 == 0o600
    if new_db:  # the restored home uses the new database, not the old one
        assert load_settings(target).database_url == new_db
        again = await arun_cli([*base[:-1], str(tmp_path / "third"), *key, *dbarg])
        assert again.code == 4 and "not empty" in again.err


async def test_interrupted_restore_leaves_target_empty(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    home = await amake_home(tmp_path, database_url)
    settings = load_settings(home)
    db = Database(settings.database_url)
    backup = tmp_path / "b.cmbk"
    try:
        await take_backup(
            db, settings, PW, cli_actor(), SystemClock(), out=backup, include_master_key=True
        )
    finally:
        await db.dispose()
    new_db = await _target_db(database_url, request)
    target = tmp_path / "empty-target"
    target.mkdir()

    def stop_at_migrate(step: str) -> None:
        if step == "migrate":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await restore_backup(backup, PW, target, database_url=new_db, step=stop_at_migrate)
    assert target.is_dir() and list(target.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if ".restore-" in p.name] == []
    if new_db:
        assert await _table_names(new_db) == set()
    # and the same restore, not interrupted, then succeeds into that folder and database
    done = await restore_backup(backup, PW, target, database_url=new_db)
    assert (done.home / "config.toml").is_file()


class _FullDisk:
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, path: Path, room: int) -> None:
        self.fh = path.open("xb")
        self.room = room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()

    def fileno(self) -> int:
        return self.fh.fileno()

    def close(self) -> None:
        self.fh.close()


async def test_full_disk_fails_cleanly_and_raises_a_finding(
    database_url: str, tmp_path: Path
) -> None:
    home = await amake_home(tmp_path, database_url)
    settings = load_settings(home)
    before = await asyncio.to_thread(_tree, home)
    db = Database(settings.database_url)
    try:

        def opener(path: Path) -> BinaryIO:
            return _FullDisk(path, 4096)  # type: ignore[return-value]

        with pytest.raises(ConfigurationError, match="No space left on device"):
            await take_backup(db, settings, PW, cli_actor(), SystemClock(), opener=opener)
        assert list(settings.backups_dir.iterdir()) == []
        assert await asyncio.to_thread(_tree, home) == before  # the live home is untouched
        runs = await list_runs(db)
        assert [(r.result, r.size) for r in runs] == [("failed", 0)]
        assert "No space left" in runs[0].error
        async with db.reader() as s:
            found = (
                (await s.execute(select(Finding).where(Finding.kind == "backup-failed")))
                .scalars()
                .all()
            )
        assert [(f.state, f.severity) for f in found] == [("open", "critical")]
        # the next good backup clears the finding
        ok = await take_backup(db, settings, PW, cli_actor(), SystemClock())
        assert ok.path.parent == settings.backups_dir and ok.size > 0
        async with db.reader() as s:
            found = (
                (await s.execute(select(Finding).where(Finding.kind == "backup-failed")))
                .scalars()
                .all()
            )
        assert [f.state for f in found] == ["cleared"]
    finally:
        await db.dispose()


def _writer(url: str, stop: threading.Event, made: list[str]) -> None:
    async def run() -> None:
        db = Database(url)
        try:
            n = 0
            while not stop.is_set() and n < 400:
                name = f"bulk-{n}"
                await create_definition(
                    db, cli_actor(), DefinitionSpec(name=name, common_name=f"b{n}.example.test")
                )
                made.append(name)
                n += 1
        finally:
            await db.dispose()

    asyncio.run(run())


async def test_backup_during_writes_restores_consistent(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    home = await amake_home(tmp_path, database_url)
    settings = load_settings(home)
    stop = threading.Event()
    made: list[str] = []
    writer = threading.Thread(target=_writer, args=(settings.database_url, stop, made))
    db = Database(settings.database_url)
    backup = tmp_path / "b.cmbk"
    try:
        writer.start()
        while len(made) < 20 and writer.is_alive():
            await asyncio.sleep(0.05)
        await take_backup(
            db, settings, PW, cli_actor(), SystemClock(), out=backup, include_master_key=True
        )
        during = len(made)
    finally:
        stop.set()
        await asyncio.to_thread(writer.join)
        await db.dispose()
    new_db = await _target_db(database_url, request)
    done = await restore_backup(backup, PW, tmp_path / "restored", database_url=new_db)
    rdb = Database(load_settings(done.home).database_url)
    try:
        async with rdb.reader() as s:
            names = set(
                (
                    await s.execute(
                        select(CertificateDefinition.name).where(
                            CertificateDefinition.name.like("bulk-%")
                        )
                    )
                ).scalars()
            )
            audited = (
                await s.execute(
                    select(func.count()).where(AuditEvent.action == "definition.create")
                )
            ).scalar_one()
    finally:
        await rdb.dispose()
    # one point in time: a prefix of what the writer made, each with its audit event
    assert 20 <= len(names) <= during + 1
    assert names == {f"bulk-{i}" for i in range(len(names))}
    assert audited == len(names) + 1  # and the console's definition
    shutil.rmtree(done.home)
