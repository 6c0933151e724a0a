"""The controller's scheduled jobs: thin wrappers around the services, and when each is due."""

from __future__ import annotations

import datetime as dt
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import SYSTEM
from certmgr.controller.scheduler.claims import Claimed
from certmgr.controller.scheduler.runner import BATCH_PARALLEL, JobContext, JobSpec, NextFn
from certmgr.controller.scheduler.shared_jobs import add_up, monitoring_batch, monitoring_round
from certmgr.controller.services.acquisition.challenges import DbHttp01Solver
from certmgr.controller.services.acquisition.current import switch_held_due
from certmgr.controller.services.acquisition.renewals import due_definitions, run_renewals
from certmgr.controller.services.acquisition.requests import IssuerEnv
from certmgr.controller.services.admin.backup_schedule import run_scheduled_backup
from certmgr.controller.services.monitoring.checks import run_monitoring
from certmgr.controller.services.monitoring.config import (
    load_monitor_config,
    load_notify_config,
    next_at,
)
from certmgr.controller.services.monitoring.discovery_config import load_discovery_config
from certmgr.controller.services.monitoring.discovery_diff import record_differences
from certmgr.controller.services.monitoring.discovery_scans import (
    claim_scan,
    run_scan,
    start_scan,
)
from certmgr.controller.services.monitoring.discovery_views import get_scan
from certmgr.controller.services.monitoring.findings import refresh_findings
from certmgr.controller.services.notification.alerts import alert_changes, send_digest
from certmgr.controller.services.notification.outbox import deliver_due, due_message_ids
from certmgr.controller.subscriptions import subscribe_all

MONITORING = "monitoring"
RENEWAL = "renewal"
DIGEST = "digest"
OUTBOX = "outbox"
RENEWAL_COUNTS = ("due", "started", "renewed", "failed", "waiting")
OUTBOX_COUNTS = ("sent", "retry", "failed")
DISCOVERY = "discovery"
DISCOVERY_SCHEDULE = "discovery-schedule"
HELD_SWITCH = "held-switch"
BACKUP = "backup"


def _base_url(ctx: JobContext) -> str:
    return ctx.settings.public_url if ctx.settings is not None else ""


async def _findings_and_alerts(ctx: JobContext) -> dict[str, Any]:
    changes = await refresh_findings(ctx.db, ctx.clock, await load_monitor_config(ctx.db))
    queued = await alert_changes(ctx.db, ctx.clock, changes, base_url=_base_url(ctx))
    return {"opened": len(changes.opened), "cleared": len(changes.cleared), "enqueued": queued}


async def monitoring_job(ctx: JobContext) -> dict[str, Any]:
    """Check every monitored deployment, then raise and clear findings and alert on changes."""
    if ctx.in_batches is not None:  # PostgreSQL: every controller checks a share of the round
        return {**await monitoring_round(ctx), **await _findings_and_alerts(ctx)}
    cfg = await load_monitor_config(ctx.db)
    summary = await run_monitoring(ctx.db, ctx.clock, cfg, progress=ctx.progress)
    return {**summary.to_json(), **await _findings_and_alerts(ctx)}


def issuer_env(ctx: JobContext) -> IssuerEnv:
    """Where the private CA writes and how ACME challenges are answered (from the database)."""
    s = ctx.settings
    if s is None:
        return IssuerEnv(None, "")
    solver = DbHttp01Solver(ctx.db, ctx.clock) if s.http01_listen else None
    return IssuerEnv(s.ca_dir, s.effective_crl_url, solver)


async def renewal_job(ctx: JobContext) -> dict[str, Any]:
    """Renew what is due, retry failed acquisitions, then update findings."""
    if ctx.in_batches is not None:  # PostgreSQL: every controller renews a share
        ids = await due_definitions(ctx.db, ctx.vault, ctx.clock)
        done = add_up(await ctx.in_batches(ids), RENEWAL_COUNTS)
        return {**done, **await _findings_and_alerts(ctx)}
    cfg = await load_monitor_config(ctx.db)
    summary = await run_renewals(
        ctx.db, ctx.vault, ctx.clock, issuer_env(ctx), concurrency=cfg.renewal_concurrency
    )
    return {**summary.to_json(), **await _findings_and_alerts(ctx)}


async def renewal_batch(ctx: JobContext, got: Claimed) -> dict[str, Any]:
    """Renew one claimed batch of definitions (those still due: a retaken batch skips the done)."""
    cfg = await load_monitor_config(ctx.db)
    summary = await run_renewals(
        ctx.db,
        ctx.vault,
        ctx.clock,
        issuer_env(ctx),
        concurrency=max(1, cfg.renewal_concurrency // BATCH_PARALLEL),
        definition_ids=got.items,
    )
    return summary.to_json()


async def digest_job(ctx: JobContext) -> dict[str, Any]:
    """Bring findings up to date, then queue the daily digest (unless nothing changed)."""
    found = await _findings_and_alerts(ctx)
    result = await send_digest(ctx.db, ctx.clock, base_url=_base_url(ctx))
    return {**result.to_json(), **found, "enqueued": found["enqueued"] + int(result.sent)}


async def outbox_job(ctx: JobContext) -> dict[str, Any]:
    """Deliver due e-mails and webhook calls."""
    if ctx.in_batches is not None:  # PostgreSQL: every controller delivers a share
        ids = await due_message_ids(ctx.db, ctx.clock)
        if not ids:
            return {"idle": True}
        return add_up(await ctx.in_batches(ids), OUTBOX_COUNTS)
    counts: dict[str, Any] = dict(await deliver_due(ctx.db, ctx.vault, ctx.clock))
    if not any(counts.values()):
        counts["idle"] = True
    return counts


async def outbox_batch(ctx: JobContext, got: Claimed) -> dict[str, Any]:
    """Deliver one claimed batch of messages (those still pending and due)."""
    return dict(
        await deliver_due(ctx.db, ctx.vault, ctx.clock, limit=len(got.items), message_ids=got.items)
    )


async def held_switch_job(ctx: JobContext) -> dict[str, Any]:
    """Make held certificates current when their time has come (and they are valid)."""
    done = await switch_held_due(ctx.db, ctx.vault, SYSTEM, ctx.clock)
    return {**done.to_json(), **({"idle": True} if not (done.switched or done.waiting) else {})}


async def backup_job(ctx: JobContext) -> dict[str, Any]:
    """Take the scheduled backup when due (``[backup]`` in config.toml); alert when it fails."""
    if ctx.settings is None:
        return {"idle": True}
    summary, changes = await run_scheduled_backup(ctx.db, ctx.settings, ctx.clock)
    if changes:
        summary["enqueued"] = await alert_changes(
            ctx.db, ctx.clock, changes, base_url=_base_url(ctx)
        )
    return summary


async def next_monitoring(db: Database, now: dt.datetime) -> dt.datetime:
    """Next monitoring run on the configured grid (daily at 03:00 UTC by default)."""
    cfg = await load_monitor_config(db)
    return next_at(now, cfg.time_of_day, cfg.interval_hours)


async def next_digest(db: Database, now: dt.datetime) -> dt.datetime:
    """Next digest (daily at the configured time)."""
    return next_at(now, (await load_notify_config(db)).digest_time, 24)


async def discovery_job(ctx: JobContext) -> dict[str, Any]:
    """Run every queued discovery scan, each under its own lease.

    A scheduled scan then reports what changed since the last scheduled run as findings, and
    alerts on them.
    """
    scans: list[dict[str, Any]] = []
    queued = 0
    while (scan_id := await claim_scan(ctx.db, ctx.holder, ctx.clock.now())) is not None:
        summary = await run_scan(ctx.db, ctx.clock, scan_id, ctx.holder, progress=ctx.progress)
        scans.append(summary.to_json())
        if summary.state == "done" and await _is_scheduled(ctx, scan_id):
            changes = await record_differences(ctx.db, ctx.clock, scan_id)
            queued += await alert_changes(ctx.db, ctx.clock, changes, base_url=_base_url(ctx))
    if not scans:
        return {"idle": True}
    return {"scans": scans, "enqueued": queued}


async def _is_scheduled(ctx: JobContext, scan_id: int) -> bool:
    return (await get_scan(ctx.db, scan_id)).scheduled


async def discovery_schedule_job(ctx: JobContext) -> dict[str, Any]:
    """Queue the scheduled discovery scan (when one is configured) and wake the discovery job."""
    cfg = await load_discovery_config(ctx.db)
    if not cfg.schedule_enabled or not cfg.schedule_targets.strip() or not cfg.scope:
        return {"idle": True}
    row = await start_scan(
        ctx.db,
        SYSTEM,
        ctx.clock,
        targets=cfg.schedule_targets,
        ports=cfg.schedule_ports,
        confirm_large=True,  # an admin set the schedule up: the size was accepted then
        scheduled=True,
    )
    return {"queued_scan": row.id, "enqueued": 1}


async def next_discovery_schedule(db: Database, now: dt.datetime) -> dt.datetime:
    """Next scheduled scan on the configured grid (daily at 02:00 UTC by default)."""
    cfg = await load_discovery_config(db)
    return next_at(now, cfg.schedule_time, cfg.schedule_interval_hours)


def every(delta: dt.timedelta) -> NextFn:
    """A schedule: ``delta`` after the last run."""

    async def next_run(db: Database, now: dt.datetime) -> dt.datetime:
        return now + delta

    return next_run


def controller_jobs() -> list[JobSpec]:
    """The jobs of the controller (renewals' new certificates go on to agents: subscribed here)."""
    subscribe_all()
    return [
        JobSpec(
            MONITORING,
            "Monitoring",
            monitoring_job,
            next_monitoring,
            lease=dt.timedelta(minutes=15),
            wakes=(OUTBOX,),
            batch=monitoring_batch,
        ),
        JobSpec(
            RENEWAL,
            "Renewals",
            renewal_job,
            every(dt.timedelta(hours=1)),
            lease=dt.timedelta(minutes=30),
            wakes=(OUTBOX,),
            batch=renewal_batch,
        ),
        JobSpec(
            DIGEST,
            "Daily digest",
            digest_job,
            next_digest,
            lease=dt.timedelta(minutes=10),
            wakes=(OUTBOX,),
        ),
        JobSpec(
            OUTBOX,
            "Notification delivery",
            outbox_job,
            every(dt.timedelta(minutes=1)),
            lease=dt.timedelta(minutes=5),
            batch=outbox_batch,
        ),
        JobSpec(
            BACKUP,
            "Backups",
            backup_job,
            every(dt.timedelta(minutes=15)),
            lease=dt.timedelta(hours=2),
            wakes=(OUTBOX,),
        ),
        JobSpec(
            HELD_SWITCH,
            "Held certificate switches",
            held_switch_job,
            every(dt.timedelta(minutes=5)),
            lease=dt.timedelta(minutes=5),
        ),
        JobSpec(
            DISCOVERY,
            "Discovery scans",
            discovery_job,
            every(dt.timedelta(minutes=1)),
            lease=dt.timedelta(minutes=10),
            wakes=(OUTBOX,),
        ),
        JobSpec(
            DISCOVERY_SCHEDULE,
            "Scheduled discovery scan",
            discovery_schedule_job,
            next_discovery_schedule,
            lease=dt.timedelta(minutes=5),
            wakes=(DISCOVERY,),
        ),
    ]
