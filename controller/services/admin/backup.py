"""Backups: one encrypted file holding the database, documents, CA state and configuration.

The database is copied online (SQLite's backup API, ``pg_dump``) while the controller runs; the
home's files follow; the master key only when asked. The file is written under a temporary name
beside its destination and renamed when complete, so a failure (a full disk) leaves no partial
file and never touches the home. Every run, manual or scheduled, is recorded with its size and
result; a failed one opens the finding ``backup-failed`` and the next good one clears it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import logging
import os
import secrets
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models.system import BackupRun
from certmgr.controller.domain.actors import Actor
from certmgr.controller.homefiles import SQLITE_SIDECARS, sqlite_path
from certmgr.controller.services.admin.backup_db import (
    SQLITE,
    database_kind,
    pg_dump,
    sqlite_snapshot,
)
from certmgr.controller.services.admin.backup_file import (
    EncryptingWriter,
    Header,
    check_passphrase,
    derive_key,
)
from certmgr.controller.services.audit import audit
from certmgr.controller.services.monitoring.findings import FindingChanges, FindingSpec, reconcile
from certmgr.controller.settings import BACKUPS_DIR, MASTER_KEY_NAME, Settings
from certmgr.shared.clock import Clock
from certmgr.shared.errors import CertmgrError, ConfigurationError

logger = logging.getLogger(__name__)

FORMAT = 1
SUFFIX = ".cmbk"
PREFIX = "certmgr-backup-"
FINDING = "backup-failed"
MANIFEST = "manifest.json"
DB_MEMBER = {SQLITE: "database/certmgr.db", "postgresql": "database/postgresql.sql"}

Opener = Callable[[Path], BinaryIO]


@dataclass(frozen=True)
class BackupOutcome:
    """A backup written."""

    path: Path
    size: int
    master_key_included: bool
    database_kind: str
    files: int
    revision: str | None


def human_size(n: int) -> str:
    """``17.5 KiB``-style size."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def backup_name(now: dt.datetime) -> str:
    """File name of a backup taken at ``now``."""
    return f"{PREFIX}{now.strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"


def _private_open(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def home_files(settings: Settings, *, include_master_key: bool) -> list[str]:
    """The home's files a backup carries (relative paths): not the database, backups or temporaries."""
    home = settings.home
    db = sqlite_path(settings.database_url)
    skip = {db.resolve()} | {Path(f"{db.resolve()}{s}") for s in SQLITE_SIDECARS} if db else set()
    out: list[str] = []
    for root, dirs, files in os.walk(home):
        rel_root = Path(root).relative_to(home)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and not (rel_root == Path() and d == BACKUPS_DIR)
        )
        for name in sorted(files):
            p = Path(root) / name
            rel = p.relative_to(home)
            # backups never hold backups (a [backup] folder inside the home, a copy left there)
            if name.startswith(".") or name.endswith((".tmp", SUFFIX)) or p.is_symlink():
                continue
            if p.resolve() in skip:
                continue
            if rel == Path(MASTER_KEY_NAME) and not include_master_key:
                continue
            out.append(rel.as_posix())
    return out


def _add(
    tar: tarfile.TarFile, name: str, data: bytes, mode: int, mtime: float
) -> dict[str, object]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(mtime)
    tar.addfile(info, io.BytesIO(data))
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _version() -> str:
    # lazy: distribution metadata is slow to load and only backups record it
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("certmgr")
    except PackageNotFoundError:
        return "unknown"


def write_backup_file(
    out: Path,
    passphrase: bytes,
    settings: Settings,
    *,
    db_kind: str,
    db_image: bytes,
    revision: str | None,
    include_master_key: bool,
    now: dt.datetime,
    opener: Opener = _private_open,
) -> tuple[int, int]:
    """Write the encrypted backup file (blocking: run it in a worker thread); returns (size, files).

    Raises:
        ConfigurationError: The file cannot be written (no space, no permission); nothing is left behind.
    """
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
    header = Header.new()
    key = derive_key(passphrase, header)
    names = home_files(settings, include_master_key=include_master_key)
    fh: BinaryIO | None = None
    try:
        fh = opener(part)
        writer = EncryptingWriter(fh, key, header)
        listing: dict[str, object] = {}
        with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
            listing[DB_MEMBER[db_kind]] = _add(
                tar, DB_MEMBER[db_kind], db_image, 0o600, now.timestamp()
            )
            for rel in names:
                p = settings.home / rel
                try:
                    data = p.read_bytes()
                    st = p.stat()
                except FileNotFoundError:
                    continue  # removed while we walked (a replaced temporary file)
                listing[f"home/{rel}"] = _add(
                    tar, f"home/{rel}", data, st.st_mode & 0o777, st.st_mtime
                )
            manifest = {
                "format": FORMAT,
                "created_at": now.isoformat(),
                "certmgr_version": _version(),
                "schema_revision": revision,
                "database": db_kind,
                "master_key_included": include_master_key,
                "files": listing,
            }
            _add(tar, MANIFEST, json.dumps(manifest, indent=1).encode(), 0o600, now.timestamp())
        writer.finish()
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        fh = None
        os.replace(part, out)
        _fsync_dir(out.parent)
        return out.stat().st_size, len(listing)
    except OSError as err:
        raise ConfigurationError(
            f"cannot write the backup to {out}: {err.strerror or err.__class__.__name__}; "
            "no backup file was left and the home was not changed"
        ) from err
    finally:
        if fh is not None:
            try:
                fh.close()
            except OSError:
                logger.debug("closing the partial backup failed", exc_info=True)
        part.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def take_backup(
    db: Database,
    settings: Settings,
    passphrase: bytes,
    actor: Actor,
    clock: Clock,
    *,
    out: Path | None = None,
    include_master_key: bool = False,
    trigger: str = "manual",
    pg_dump_tool: str = "",
    opener: Opener = _private_open,
) -> BackupOutcome:
    """Back up the home and its database online; record the run (a failure opens a finding).

    Args:
        db: The live database.
        settings: The home's settings.
        passphrase: The backup passphrase (at least 10 characters).
        actor: Who asks (audited).
        clock: Time source.
        out: The file to write (default ``backups/certmgr-backup-<time>.cmbk`` in the home).
        include_master_key: Put the master key into the backup as well.
        trigger: ``manual`` or ``scheduled``.
        pg_dump_tool: Path of ``pg_dump`` (default: the newest installed).
        opener: Opens the temporary output file (a seam for fault tests).

    Returns:
        What was written.

    Raises:
        InputError: Passphrase too short.
        ConfigurationError: The database cannot be copied or the file cannot be written.
    """
    check_passphrase(passphrase)
    now = clock.now()
    target = out or settings.backups_dir / backup_name(now)
    kind = database_kind(settings.database_url)
    try:
        revision = await db.current_revision()
        if kind == SQLITE:
            path = sqlite_path(settings.database_url)
            if path is None:
                raise ConfigurationError("an in-memory database cannot be backed up")
            image = await asyncio.to_thread(sqlite_snapshot, path)
        else:
            image = await asyncio.to_thread(pg_dump, settings.database_url, pg_dump_tool)
        size, files = await asyncio.to_thread(
            write_backup_file,
            target,
            passphrase,
            settings,
            db_kind=kind,
            db_image=image,
            revision=revision,
            include_master_key=include_master_key,
            now=now,
            opener=opener,
        )
    except (CertmgrError, SQLAlchemyError, OSError) as err:
        message = str(err) if isinstance(err, CertmgrError) else err.__class__.__name__
        await record_run(
            db, actor, clock, started=now, trigger=trigger, kind=kind, error=message, path=target
        )
        raise
    await record_run(
        db,
        actor,
        clock,
        started=now,
        trigger=trigger,
        kind=kind,
        path=target,
        size=size,
        master_key=include_master_key,
    )
    return BackupOutcome(target, size, include_master_key, kind, files, revision)


async def record_run(
    db: Database,
    actor: Actor,
    clock: Clock,
    *,
    started: dt.datetime,
    trigger: str,
    kind: str,
    path: Path,
    size: int = 0,
    master_key: bool = False,
    error: str = "",
) -> FindingChanges:
    """Store a backup run and open or clear the ``backup-failed`` finding; returns the finding changes.

    A database that cannot be written (the reason the backup failed, perhaps) is logged, not raised.
    """
    try:
        async with db.transaction() as s:
            row = BackupRun(
                started_at=started,
                finished_at=clock.now(),
                trigger=trigger,
                result="failed" if error else "ok",
                path=str(path),
                size=size,
                master_key_included=master_key,
                database_kind=kind,
                error=error[:2000],
            )
            s.add(row)
            await s.flush()
            audit(
                s,
                actor,
                "backup.failed" if error else "backup.create",
                "backup",
                row.id,
                {"file": path.name, "size": size, "master_key": master_key, "trigger": trigger},
                clock=clock,
            )
        wanted = (
            [FindingSpec(FINDING, FINDING, "critical", f"The {trigger} backup failed: {error}")]
            if error
            else []
        )
        return await reconcile(db, wanted, clock, kinds=(FINDING,), keys=[FINDING], actor=actor)
    except (SQLAlchemyError, OSError) as err:
        # e.g. a home backed up before its schema is upgraded (no backup_runs table yet)
        logger.warning("the backup run was not recorded in the database (%s)", _first(err))
        return FindingChanges()


def _first(err: BaseException) -> str:
    return (str(getattr(err, "orig", None) or err).splitlines() or [err.__class__.__name__])[0][
        :200
    ]


async def list_runs(db: Database, limit: int = 100) -> list[BackupRun]:
    """The latest backup runs, newest first."""
    async with db.reader() as s:
        rows = await s.execute(
            select(BackupRun)
            .order_by(BackupRun.started_at.desc(), BackupRun.id.desc())
            .limit(limit)
        )
        return list(rows.scalars())


async def prune_backups(db: Database, folder: Path, keep: int, actor: Actor, clock: Clock) -> int:
    """Delete the files of good scheduled backups in ``folder`` beyond the newest ``keep``.

    Returns:
        How many files were removed.
    """
    async with db.transaction() as s:
        rows = (
            await s.execute(
                select(BackupRun)
                .where(
                    BackupRun.result == "ok",
                    BackupRun.trigger == "scheduled",
                    BackupRun.pruned.is_(False),
                )
                .order_by(BackupRun.started_at.desc(), BackupRun.id.desc())
            )
        ).scalars()
        removed = 0
        for row in list(rows)[keep:]:
            p = Path(row.path)
            if p.parent == folder and p.name.startswith(PREFIX):
                await asyncio.to_thread(p.unlink, missing_ok=True)
                removed += 1
            row.pruned = True
            audit(s, actor, "backup.prune", "backup", row.id, {"file": p.name}, clock=clock)
    return removed
