"""Periodic monitoring: the deploy check of every monitored deployment, concurrently with a bound.

A fixed pool of workers (``MonitorConfig.concurrency``, about 100) probes the endpoints, so memory
stays flat however many deployments there are; every probe has its own deadline, so a host that
hangs, resets or sends an enormous chain becomes a recorded result and the run goes on. Results are
written in batches: one ``CheckResult`` per check (source ``monitor``), the deployment's last check
and failure counter, and a state change only when the verdict changes it (confirmed -> check-failed,
check-failed -> confirmed), with its history event and audit record. Checks that change nothing
leave no history event, so a daily run does not bury the deployment's history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CheckResult, Deployment
from certmgr.controller.db.queries.monitoring import (
    CheckState,
    certificate_owners,
    check_states,
    current_certificate_ids,
    deployment_rows,
    insert_check_results,
    note_last_checks,
    set_deployment_certificates,
)
from certmgr.controller.domain.actors import SYSTEM, Actor
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.audit import audit
from certmgr.controller.services.deployment.check_rows import check_values
from certmgr.controller.services.deployment.deployments import move
from certmgr.controller.services.monitoring.config import MonitorConfig
from certmgr.controller.services.monitoring.targets import (
    Checked,
    Target,
    check_target,
    load_targets,
)
from certmgr.shared.clock import Clock
from certmgr.shared.errors import NotFoundError
from certmgr.shared.tlstrust import load_system_roots

logger = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], Awaitable[None]]
BATCH = 200
FLUSH_SECONDS = 0.5
Stamped = tuple[Checked, dt.datetime]
IN_SERVICE = frozenset(
    {
        DeploymentStatus.CONFIRMED.value,
        DeploymentStatus.MANUALLY_CONFIRMED.value,
        DeploymentStatus.COMPLETED_UNCHECKED.value,
    }
)


@dataclass
class MonitorSummary:
    """What a run did."""

    total: int = 0
    ok: int = 0
    failed: int = 0
    unreachable: int = 0
    to_check_failed: int = 0
    to_confirmed: int = 0
    without_certificate: int = 0
    seconds: float = 0.0
    check_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON for the job record, the API and the CLI (without the check ids)."""
        return {
            "total": self.total,
            "ok": self.ok,
            "failed": self.failed,
            "unreachable": self.unreachable,
            "to_check_failed": self.to_check_failed,
            "to_confirmed": self.to_confirmed,
            "without_certificate": self.without_certificate,
            "seconds": round(self.seconds, 3),
        }


async def _store(
    db: Database,
    actor: Actor,
    batch: list[Stamped],
    clock: Clock,
    cfg: MonitorConfig,
    summary: MonitorSummary,
) -> None:
    """Store a batch in one transaction, with its state changes and their history and audit.

    Each check's result, its deployment's last check, failure counter and certificate seen
    served go in as plain Core statements; ORM objects only for the deployments
    whose state changes (``move`` adds their history event and audit record).
    """
    async with db.transaction() as s:
        states = await check_states(s, [c.deployment_id for c, _ in batch])
        kept = [(c, at) for c, at in batch if c.deployment_id in states]
        check_ids = await insert_check_results(
            s, [check_values(c.deployment_id, c.outcome, at, "monitor", c.extra) for c, at in kept]
        )
        last: list[tuple[int, int, int]] = []
        moves: list[tuple[int, DeploymentStatus, str, dict[str, Any]]] = []
        for (c, _), check_id in zip(kept, check_ids, strict=True):
            st, outcome = states[c.deployment_id], c.outcome
            failures = 0 if outcome.reachable else st.consecutive_failures + 1
            last.append((st.id, check_id, failures))
            summary.check_ids.append(check_id)
            detail = {"check": check_id, "source": "monitor"}
            # Unreachable only counts after N failures in a row: one lost packet is no alarm.
            failing = not c.healthy and (outcome.reachable or failures >= cfg.unreachable_after)
            if st.status in IN_SERVICE and failing:
                text = "monitoring: " + "; ".join(outcome.problems)
                moves.append((st.id, DeploymentStatus.CHECK_FAILED, text, detail))
                summary.to_check_failed += 1
            elif st.status == DeploymentStatus.CHECK_FAILED.value and c.healthy:
                text = "monitoring: the check passes again"
                moves.append((st.id, DeploymentStatus.CONFIRMED, text, detail))
                summary.to_confirmed += 1
        await note_last_checks(s, last)
        await set_deployment_certificates(s, await _certificates_seen(s, kept, states))
        if moves:
            deps = await deployment_rows(s, [m[0] for m in moves])
            for dep_id, new, text, detail in moves:
                move(s, deps[dep_id], actor, new, text, clock, detail)


async def _certificates_seen(
    s: AsyncSession, kept: list[Stamped], states: dict[int, CheckState]
) -> dict[int, int]:
    """Deployments that now carry the certificate of their definition their server was seen serving.

    A monitoring-only deployment (nothing installed by certmgr) learns its certificate so, and
    stops needing the current one once it is seen served; one that was sent a certificate takes
    the served one only when that is the definition's current (an install under way is not
    undone by a check of the old server). As ``store_checks`` does for single checks.
    """
    served = {
        c.deployment_id: sha
        for c, _ in kept
        if c.outcome.judged and (sha := c.outcome.served_sha256) and len(sha) == 64
    }
    known = await certificate_owners(s, list(served.values()))
    found: dict[int, int] = {}
    for dep_id, sha in served.items():
        cert, st = known.get(sha), states[dep_id]
        if cert is not None and cert[1] == st.definition_id and cert[0] != st.certificate_id:
            found[dep_id] = cert[0]
    sent = [states[d].definition_id for d in found if states[d].certificate_id is not None]
    current = await current_certificate_ids(s, sent)
    return {
        dep_id: cert_id
        for dep_id, cert_id in found.items()
        if states[dep_id].certificate_id is None
        or current.get(states[dep_id].definition_id) == cert_id
    }


async def run_monitoring(
    db: Database,
    clock: Clock,
    cfg: MonitorConfig,
    *,
    deployment_ids: Sequence[int] | None = None,
    progress: Progress | None = None,
    actor: Actor = SYSTEM,
    trust_roots: Sequence[x509.Certificate] | None = None,
) -> MonitorSummary:
    """Check every monitored deployment (or the given ones) and store the results.

    Args:
        db: The database.
        clock: Time source for check times and ``days_left``.
        cfg: Concurrency, probe timeout, unreachable threshold, trust judging.
        deployment_ids: Only these (monitoring flag ignored); None: every monitored deployment.
        progress: Called about once a second with ``{"total", "done", "ok", "failed"}``.
        actor: Who the state changes are attributed to.
        trust_roots: Anchors for the informational trust verdict (default: the system store
            when ``cfg.verify_trust``, else none).

    Returns:
        Counts, duration and the stored check ids.
    """
    started = time.monotonic()
    targets, missing = await load_targets(db, deployment_ids)
    summary = MonitorSummary(total=len(targets), without_certificate=missing)
    if trust_roots is None:
        trust_roots = await asyncio.to_thread(load_system_roots) if cfg.verify_trust else ()
    todo: asyncio.Queue[Target] = asyncio.Queue()
    for t in targets:
        todo.put_nowait(t)
    done: asyncio.Queue[Stamped | None] = asyncio.Queue(BATCH * 4)

    async def worker() -> None:
        while True:
            try:
                t = todo.get_nowait()
            except asyncio.QueueEmpty:
                return
            checked = await check_target(t, clock, cfg.probe_timeout, trust_roots)
            await done.put((checked, clock.now()))

    async def writer() -> None:
        batch: list[Stamped] = []
        last_report = opened = 0.0
        finished = False
        while not finished:
            wait = max(0.0, opened + FLUSH_SECONDS - time.monotonic()) if batch else None
            items: list[Stamped | None] = []
            try:
                async with asyncio.timeout(wait):
                    items.append(await done.get())
            except TimeoutError:
                pass
            # what else is waiting already: one wake-up (and one timeout) for all of it
            while items and len(batch) + len(items) < BATCH and not done.empty():
                items.append(done.get_nowait())
            for item in items:
                if item is None:
                    finished = True
                else:
                    opened = opened if batch else time.monotonic()
                    batch.append(item)
                    _count(summary, item[0])
            due = time.monotonic() - opened >= FLUSH_SECONDS
            if batch and (finished or due or len(batch) >= BATCH):
                await _store(db, actor, batch, clock, cfg, summary)
                batch = []
            if progress is not None and (finished or time.monotonic() - last_report > 1.0):
                last_report = time.monotonic()
                await progress(_progress(summary))

    async def workers() -> None:
        async with asyncio.TaskGroup() as tg:
            for _ in range(min(cfg.concurrency, max(1, len(targets)))):
                tg.create_task(worker())
        await done.put(None)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(workers())
        tg.create_task(writer())
    summary.seconds = time.monotonic() - started
    return summary


def _count(summary: MonitorSummary, checked: Checked) -> None:
    if checked.healthy:
        summary.ok += 1
    else:
        summary.failed += 1
        if not checked.outcome.reachable:
            summary.unreachable += 1


def _progress(summary: MonitorSummary) -> dict[str, Any]:
    return {
        "total": summary.total,
        "done": summary.ok + summary.failed,
        "ok": summary.ok,
        "failed": summary.failed,
    }


async def check_deployment_now(
    db: Database, actor: Actor, dep_id: int, clock: Clock, cfg: MonitorConfig
) -> CheckResult:
    """Run the monitoring check of one deployment now ("run now" for one) and return its result.

    Raises:
        NotFoundError: No such deployment, or it has no certificate to compare against.
    """
    async with db.reader() as s:
        if await s.get(Deployment, dep_id) is None:
            raise NotFoundError(f"no deployment {dep_id}")
    summary = await run_monitoring(db, clock, cfg, deployment_ids=[dep_id], actor=actor)
    if not summary.check_ids:
        raise NotFoundError(
            f"deployment {dep_id} has no certificate to check against (no current certificate)"
        )
    async with db.transaction() as s:
        row = await s.get(CheckResult, summary.check_ids[0])
        assert row is not None  # noqa: S101 - just written
        audit(
            s,
            actor,
            "monitor.check",
            "deployment",
            dep_id,
            {"ok": row.ok, "check": row.id},
            clock=clock,
        )
    return row
