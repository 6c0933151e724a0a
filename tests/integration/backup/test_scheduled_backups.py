"""Scheduled backups (``[backup]`` in config.toml) through the controller's scheduler: interval, retention, failure finding."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Finding, OutboxMessage
from certmgr.controller.scheduler.jobs import BACKUP, controller_jobs
from certmgr.controller.scheduler.runner import Scheduler
from certmgr.controller.services.admin.backup import list_runs
from certmgr.controller.services.admin.restore import verify_backup_file
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import FakeClock
from tests.factories.backups import PASSPHRASE
from tests.factories.homes import amake_home

CONFIG = """
[backup]
enabled = true
interval_hours = 24
keep = 2
passphrase_file = "backup.pass"
"""


async def test_scheduled_backups_keep_the_newest_and_a_failure_raises_a_finding(
    database_url: str, tmp_path: Path
) -> None:
    home = await amake_home(tmp_path, database_url)
    cfg = home / "config.toml"
    await asyncio.to_thread(lambda: cfg.write_text(cfg.read_text() + CONFIG))
    (home / "backup.pass").write_text(PASSPHRASE + "\n")
    (home / "backup.pass").chmod(0o600)
    settings = load_settings(home)
    db = Database(settings.database_url)
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    sched = Scheduler(
        db, read_master_key(settings.master_key_path), clock, controller_jobs(), settings=settings, holder="t"
    )  # fmt: skip
    await sched.setup()
    try:
        for _ in range(3):
            run = await sched.run_job(BACKUP, force=True)
            assert run.status == "ok" and run.summary["result"] == "ok", run
            again = await sched.run_job(BACKUP, force=True)  # not due yet: nothing taken
            assert again.summary.get("idle") is True
            clock.advance(dt.timedelta(hours=25))
        files = sorted(settings.backups_dir.glob("certmgr-backup-*.cmbk"))
        assert len(files) == 2  # keep = 2
        runs = await list_runs(db)
        assert [(r.trigger, r.result, r.pruned) for r in runs] == [
            ("scheduled", "ok", False),
            ("scheduled", "ok", False),
            ("scheduled", "ok", True),
        ]
        assert {Path(r.path) for r in runs[:2]} == set(files)
        info = await asyncio.to_thread(verify_backup_file, files[-1], PASSPHRASE.encode())
        assert not info.master_key_included

        # the passphrase file goes missing: the run fails, a critical finding opens and is alerted
        (home / "backup.pass").unlink()
        failed = await sched.run_job(BACKUP, force=True)
        assert failed.summary["result"] == "failed" and "passphrase" in failed.summary["error"]
        async with db.reader() as s:
            found = list(
                (await s.execute(select(Finding).where(Finding.kind == "backup-failed"))).scalars()
            )
            queued = list((await s.execute(select(OutboxMessage))).scalars())
        assert [(f.state, f.severity) for f in found] == [("open", "critical")]
        assert (await list_runs(db))[0].result == "failed"
        assert failed.summary.get("enqueued", 0) == len(queued)
        # retried an hour later, not at once
        assert (await sched.run_job(BACKUP, force=True)).summary.get("idle") is True
    finally:
        await sched.aclose()
        await db.dispose()
