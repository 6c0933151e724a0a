"""Scheduled work split between controllers (PostgreSQL): monitoring and renewals in claimed batches.

The controller holding the job's lease opens a round of its items (every monitored deployment;
every definition due for renewal) with ``claims.open_round``; each controller's scheduler claims
batches of it and works them with the ordinary code (``run_monitoring`` / ``run_renewals`` for
those ids). A batch taken over from a controller that died skips what is already done: the
deployments checked in this round, the definitions no longer due (renewed). When every batch is
done the lease holder adds up their counts and goes on with findings and alerts, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from certmgr.controller.db.queries.monitoring import checked_since, monitored_deployment_ids
from certmgr.controller.scheduler.claims import Claimed
from certmgr.controller.scheduler.runner import BATCH_PARALLEL, JobContext
from certmgr.controller.services.monitoring.checks import run_monitoring
from certmgr.controller.services.monitoring.config import load_monitor_config

COUNTS = (
    "total",
    "ok",
    "failed",
    "unreachable",
    "to_check_failed",
    "to_confirmed",
    "without_certificate",
    "skipped_done",
)


async def monitoring_batch(ctx: JobContext, got: Claimed) -> dict[str, Any]:
    """Check one claimed batch of deployments; on a retaken batch, only those not done yet."""
    items = got.items
    skipped = 0
    if got.attempts > 1:
        async with ctx.db.reader() as s:
            done = await checked_since(s, items, got.round_started_at, "monitor")
        items = [i for i in items if i not in done]
        skipped = len(got.items) - len(items)
    cfg = await load_monitor_config(ctx.db)
    # BATCH_PARALLEL batches run at once here: together they keep the configured concurrency
    cfg = replace(cfg, concurrency=max(1, cfg.concurrency // BATCH_PARALLEL))
    summary = await run_monitoring(ctx.db, ctx.clock, cfg, deployment_ids=items) if items else None
    counts = summary.to_json() if summary is not None else {}
    return {**counts, "skipped_done": skipped, "holder": ctx.holder}


async def monitoring_round(ctx: JobContext) -> dict[str, Any]:
    """Share one monitoring run between every controller and add up what the batches did."""
    assert ctx.in_batches is not None  # noqa: S101 - called only when rounds are shared
    async with ctx.db.reader() as s:
        ids = await monitored_deployment_ids(s)
    return add_up(await ctx.in_batches(ids), COUNTS)


def add_up(batches: Sequence[dict[str, Any]], counts: Sequence[str]) -> dict[str, Any]:
    """The batches' counts summed, with how many batches and controllers, retaken and abandoned."""
    total: dict[str, Any] = {k: 0 for k in counts}
    errors: list[str] = []
    for b in batches:
        for k in counts:
            total[k] += int(b.get(k, 0) or 0)
        errors += [str(e) for e in b.get("errors", [])] + (
            [str(b["error"])] if "error" in b else []
        )
    if errors:
        total["errors"] = errors[:20]
    total["batches"] = len(batches)
    total["controllers"] = len({b.get("done_by", "") for b in batches} - {""})
    total["retaken"] = sum(1 for b in batches if int(b.get("attempts", 1)) > 1)
    total["abandoned"] = sum(int(b.get("abandoned", 0)) for b in batches)
    return total
