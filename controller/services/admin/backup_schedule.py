"""Scheduled backups: due when the last good scheduled backup is older than ``[backup] interval_hours``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Finding
from certmgr.controller.db.models.system import BackupRun
from certmgr.controller.domain.actors import SYSTEM
from certmgr.controller.services.admin.backup import (
    FINDING,
    backup_name,
    prune_backups,
    record_run,
    take_backup,
)
from certmgr.controller.services.admin.backup_config import (
    load_backup_config,
    scheduled_passphrase,
)
from certmgr.controller.services.admin.backup_db import database_kind
from certmgr.controller.services.monitoring.findings import FindingChanges
from certmgr.controller.settings import Settings
from certmgr.shared.clock import Clock
from certmgr.shared.errors import CertmgrError

SCHEDULED = "scheduled"


RETRY = dt.timedelta(hours=1)


async def last_scheduled(db: Database, *, ok_only: bool) -> dt.datetime | None:
    """When the newest scheduled backup (good only, or any attempt) started."""
    async with db.reader() as s:
        stmt = select(BackupRun.started_at).where(BackupRun.trigger == SCHEDULED)
        if ok_only:
            stmt = stmt.where(BackupRun.result == "ok")
        return (
            await s.execute(stmt.order_by(BackupRun.started_at.desc()).limit(1))
        ).scalar_one_or_none()


async def _opened_since(db: Database, since: dt.datetime) -> FindingChanges:
    async with db.reader() as s:
        rows = await s.execute(
            select(Finding).where(
                Finding.kind == FINDING, Finding.state == "open", Finding.opened_at >= since
            )
        )
        return FindingChanges(opened=list(rows.scalars()))


async def run_scheduled_backup(
    db: Database, settings: Settings, clock: Clock
) -> tuple[dict[str, Any], FindingChanges]:
    """Take a scheduled backup when one is due, then apply retention.

    A failure (no passphrase, no space, ``pg_dump`` missing) is recorded and opens the
    ``backup-failed`` finding instead of raising; a failed attempt is retried after an hour.

    Returns:
        A summary for the job's record, and the finding changes to alert on.
    """
    cfg = load_backup_config(settings)
    if not cfg.enabled:
        return {"idle": True, "enabled": False}, FindingChanges()
    now = clock.now()
    due = [
        t + gap
        for t, gap in (
            (await last_scheduled(db, ok_only=True), dt.timedelta(hours=cfg.interval_hours)),
            (await last_scheduled(db, ok_only=False), RETRY),
        )
        if t is not None
    ]
    if due and now < max(due):
        return {"idle": True, "next_after": max(due).isoformat()}, FindingChanges()
    folder = cfg.folder or settings.backups_dir
    target = folder / backup_name(now)
    try:
        passphrase = scheduled_passphrase(cfg)
    except CertmgrError as err:
        changes = await record_run(
            db, SYSTEM, clock, started=now, trigger=SCHEDULED,
            kind=database_kind(settings.database_url), path=target, error=str(err),
        )  # fmt: skip
        return {"result": "failed", "error": str(err)}, changes
    try:
        done = await take_backup(
            db, settings, passphrase, SYSTEM, clock, out=target,
            include_master_key=cfg.include_master_key, trigger=SCHEDULED, pg_dump_tool=cfg.pg_dump,
        )  # fmt: skip
    except CertmgrError as err:  # recorded (and the finding opened) by take_backup
        return {"result": "failed", "error": str(err)}, await _opened_since(db, now)
    pruned = await prune_backups(db, folder, cfg.keep, SYSTEM, clock)
    return {
        "result": "ok",
        "file": done.path.name,
        "size": done.size,
        "pruned": pruned,
    }, FindingChanges()
