"""``certmgr backup``, ``backup verify`` and ``restore`` of a home with 10,000 definitions (SQLite and PostgreSQL).

Beside them, on the same home: the bare database copy (SQLite's online backup API, ``pg_dump``)
and ``tar | gzip`` of the home folder, the floor of what any backup must do. Sizes are printed too.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from bench.common import make_ca, make_leaf, pem, timer, workdir
from tests.factories.postgres import create_database, pg_bin, postgres_server

PASSPHRASE = b"bench backup passphrase"


async def _home(d: Path, n: int, database_url: str | None) -> Path:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.home import init_home
    from certmgr.controller.services.certificates.imports import ImportFile, import_files
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key

    home = d / "home"
    await init_home(home, admin_password="bench-password-123", database_url=database_url)
    ca_key, ca = make_ca()
    inputs = [
        ImportFile(f"c{i}.pem", pem(make_leaf(ca_key, ca, f"host{i}.bench.test"))) for i in range(n)
    ]
    settings = load_settings(home)
    db = Database(settings.database_url)
    try:
        await import_files(
            db,
            read_master_key(settings.master_key_path),
            cli_actor(),
            inputs,
            chain_files=[ImportFile("ca.pem", pem(ca))],
        )
    finally:
        await db.dispose()
    return home


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1024 / 1024:.1f} MiB"


async def _one(kind: str, n: int, d: Path, database_url: str | None, pg_dsn: str | None) -> None:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.services.admin.backup import take_backup
    from certmgr.controller.services.admin.restore import restore_backup, verify_backup_file
    from certmgr.controller.settings import load_settings
    from certmgr.shared.clock import SystemClock

    home = await _home(d, n, database_url)
    settings = load_settings(home)
    out = d / "backup.cmbk"
    db = Database(settings.database_url)
    try:
        with timer() as t_b:
            await take_backup(
                db,
                settings,
                PASSPHRASE,
                cli_actor(),
                SystemClock(),
                out=out,
                include_master_key=True,
            )
    finally:
        await db.dispose()
    with timer() as t_v:
        await asyncio.to_thread(verify_backup_file, out, PASSPHRASE)
    target = await asyncio.to_thread(create_database, pg_dsn, "restored") if pg_dsn else None
    with timer() as t_r:
        await restore_backup(out, PASSPHRASE, d / "restored", database_url=target)
    with timer() as t_db:
        if database_url is None:
            src = sqlite3.connect(home / "certmgr.db")
            dst = sqlite3.connect(d / "copy.db")
            src.backup(dst)
            src.close()
            dst.close()
            floor_file = d / "copy.db"
        else:
            floor_file = d / "dump.sql"
            with floor_file.open("wb") as fh:
                plain = database_url.replace("postgresql+asyncpg://", "postgresql://")
                subprocess.run(
                    [str(pg_bin() / "pg_dump"), "--no-owner", plain], stdout=fh, check=True
                )  # noqa: S603
    from certmgr.controller.services.admin.backup_file import Header, derive_key

    with timer() as t_kdf:
        await asyncio.to_thread(derive_key, PASSPHRASE, Header.new())
    with timer() as t_tar:
        subprocess.run(["tar", "czf", str(d / "home.tgz"), "-C", str(home), "."], check=True)  # noqa: S607
    print(f"{kind}: {n} definitions; database {floor_file.stat().st_size / 1024 / 1024:.1f} MiB")
    print(f"{'':38}{'wall s':>9}{'cpu s':>9}{'size':>12}")
    for label, t, size in (
        ("certmgr backup", t_b, _size(out)),
        ("certmgr backup verify", t_v, ""),
        ("  of which Argon2id (each of the 3)", t_kdf, ""),
        ("certmgr restore (incl. migrate)", t_r, ""),
        ("bare database copy (floor)", t_db, _size(floor_file)),
        ("tar czf of the home (floor)", t_tar, _size(d / "home.tgz")),
    ):
        print(f"{label:38}{t['wall']:>9.2f}{t['cpu']:>9.2f}{size:>12}")
    print(f"backup / bare copy: {t_b['wall'] / max(t_db['wall'], 1e-6):.1f}x wall")


async def run(*, quick: bool = False) -> None:
    n = 1000 if quick else 10_000
    d = workdir("backup")
    try:
        (d / "sqlite").mkdir()
        await _one("SQLite", n, d / "sqlite", None, None)
        with postgres_server() as dsn:
            url = await asyncio.to_thread(create_database, dsn, "bench")
            (d / "pg").mkdir()
            await _one("PostgreSQL", n, d / "pg", url, dsn)
    finally:
        if not os.environ.get("CERTMGR_BENCH_KEEP"):
            shutil.rmtree(d, ignore_errors=True)
