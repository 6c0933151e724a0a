"""Discovery scans: start, claim under a lease, run on the shared engine, store as it goes.

A scan is checked against the scope and the size limit when it starts; every certificate it
finds is judged against the trust policy and matched against the repository.

A scan row is the job: :func:`start_scan` queues it, the ``discovery`` job (or the CLI, at once)
claims it with a conditional update (one replica wins) and :func:`run_scan` runs it. Results are
written in batches of at most 200 or every half second: the scan's counters and its lease move
with each batch, so progress is visible from any replica and a scan whose replica died is taken
over and restarted. Judging (chain building, signatures) runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    DiscoveredEndpoint,
    DiscoveryScan,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.state_labels import state_label
from certmgr.controller.services.audit import audit
from certmgr.controller.services.monitoring.discovery_config import (
    DiscoveryConfig,
    load_discovery_config,
)
from certmgr.controller.services.monitoring.discovery_match import (
    Judging,
    judging_context,
    virtual_hosts,
)
from certmgr.controller.services.monitoring.discovery_store import (
    NOT_STORED,
    SCAN_LEASE,
    Batch,
    Counts,
    prepare,
    store_batch,
)
from certmgr.shared.clock import Clock
from certmgr.shared.discovery import EndpointResult, Timeouts, parse_ports, parse_targets, scan
from certmgr.shared.errors import ConflictError, NotFoundError, ValidationError, raise_collected
from certmgr.shared.tlsprobe import STARTTLS_PROTOCOLS

logger = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], Awaitable[None]]
BATCH = 200
FLUSH_SECONDS = 0.5
MAX_TARGET_TEXT = 4 * 1024 * 1024
STATES = ("queued", "running", "done", "failed", "cancelled")


def scan_json(row: DiscoveryScan) -> dict[str, Any]:
    """A scan as the API, the CLI and the console show it."""
    return {
        "id": row.id,
        "created_by": row.created_by,
        "source": row.source,
        "scheduled": row.scheduled,
        "targets": row.targets,
        "ports": row.ports,
        "state": row.state,
        "pairs": row.pairs,
        "probed": row.probed,
        "open_endpoints": row.open_endpoints,
        "certificates": row.certificates,
        "critical": row.critical,
        "warning": row.warning,
        "unknown": row.unknown,
        "error": row.error,
        "created_at": row.created_at.isoformat(),
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


def _checked_spec(targets: str, ports: str | None, cfg: DiscoveryConfig) -> int:
    if len(targets) > MAX_TARGET_TEXT:
        raise ValidationError("the target list is larger than 4 MiB", field="targets")
    problems: list[ValidationError] = []
    chosen: tuple[int, ...] | None = None
    try:  # the ports on their own first, so that bad targets and bad ports are named together
        chosen = parse_ports(ports or None)
    except ValidationError as err:
        problems.append(err)
    try:
        spec = parse_targets(targets, chosen)
    except ValidationError as err:
        problems.append(err)
    raise_collected(problems)
    cfg.scope_value()
    return spec.count()


def _starttls(value: Mapping[int, str] | None) -> dict[int, str]:
    out: dict[int, str] = {}
    for port, proto in (value or {}).items():
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValidationError(f"STARTTLS: {port!r} is not a port", field="starttls")
        if proto not in STARTTLS_PROTOCOLS:
            raise ValidationError(
                f"STARTTLS: {proto!r} is not one of {', '.join(STARTTLS_PROTOCOLS)}",
                field="starttls",
            )
        out[port] = proto
    return out


def parse_starttls(items: Sequence[str]) -> dict[int, str]:
    """``PORT=PROTO`` items (``2525=smtp``) as a mapping.

    Raises:
        ValidationError: An item is not PORT=PROTO with a known protocol.
    """
    out: dict[int, str] = {}
    for item in items:
        port, sep, proto = item.partition("=")
        if not sep or not port.strip().isdigit():
            raise ValidationError(
                f"STARTTLS: {item[:40]!r} is not PORT=PROTOCOL (2525=smtp)", field="starttls"
            )
        out[int(port)] = proto.strip().lower()
    return _starttls(out)


async def start_scan(
    db: Database,
    actor: Actor,
    clock: Clock,
    *,
    targets: str,
    ports: str | None = None,
    confirm_large: bool = False,
    scheduled: bool = False,
    precheck: bool = False,
    starttls: Mapping[int, str] | None = None,
) -> DiscoveryScan:
    """Queue a scan of ``targets`` on ``ports`` (default: the usual TLS and STARTTLS ports).

    Args:
        db: The database.
        actor: Who asks (recorded and audited).
        clock: Time source.
        targets: Names, addresses, networks and ranges (see
            :func:`certmgr.shared.discovery.parse_targets`).
        ports: Ports and ranges (``443,8443,9000-9010``); None or empty: the default set.
        confirm_large: The user confirmed a scan above the size limit.
        scheduled: Started by the schedule (its differences raise findings).
        precheck: Connect-scan first (for large sparse ranges).
        starttls: Per port, a STARTTLS protocol to speak there besides the well-known ports
            (``{2525: "smtp"}``).

    Returns:
        The queued scan.

    Raises:
        ValidationError: A bad target or port (the message quotes it), no scope set, or more
            pairs than the size limit without ``confirm_large`` (``field`` is ``confirm_large``).
        InputTooLargeError: More targets than the parser allows.
    """
    cfg = await load_discovery_config(db)
    if not cfg.scope:
        raise ValidationError(
            "no scan scope is set: an administrator must first name the networks discovery may "
            "scan (Discovery settings)",
            field="scope",
        )
    ports = (ports or "").strip() or None
    pairs = await asyncio.to_thread(_checked_spec, targets, ports, cfg)
    if pairs > cfg.size_limit and not confirm_large:
        raise ValidationError(
            f"the scan names {pairs} address:port pairs, more than the limit of "
            f"{cfg.size_limit}: confirm the large scan to go ahead",
            field="confirm_large",
        )
    now = clock.now()
    async with db.transaction() as s:
        row = DiscoveryScan(
            created_by=actor.name,
            scheduled=scheduled,
            targets=targets.strip(),
            ports=ports or "",
            options={
                "precheck": precheck,
                "confirmed_large": pairs > cfg.size_limit,
                "starttls": {str(port): proto for port, proto in _starttls(starttls).items()},
            },
            state="queued",
            pairs=pairs,
            created_at=now,
        )
        s.add(row)
        await s.flush()
        audit(
            s,
            actor,
            "discovery.scan",
            "discovery_scan",
            row.id,
            {"targets": targets[:500], "ports": ports or "default", "pairs": pairs},
            clock=clock,
        )
    return row


async def claim_scan(
    db: Database, holder: str, now: dt.datetime, *, scan_id: int | None = None
) -> int | None:
    """Take the oldest queued scan (or ``scan_id``), or a running one whose lease ran out.

    One conditional update decides, so of several replicas exactly one gets each scan.

    Returns:
        The scan's id, or None when there is nothing to take.
    """
    free = or_(
        DiscoveryScan.state == "queued",
        and_(DiscoveryScan.state == "running", DiscoveryScan.lease_until < now),
    )
    for _ in range(5):
        async with db.transaction() as s:
            stmt = select(DiscoveryScan.id).where(free).order_by(DiscoveryScan.id).limit(1)
            if scan_id is not None:
                stmt = stmt.where(DiscoveryScan.id == scan_id)
            found = (await s.execute(stmt)).scalar_one_or_none()
            if found is None:
                return None
            taken = await s.execute(
                update(DiscoveryScan)
                .where(DiscoveryScan.id == found, free)
                .values(
                    state="running",
                    holder=holder,
                    lease_until=now + SCAN_LEASE,
                    started_at=now,
                    probed=0,
                    open_endpoints=0,
                    certificates=0,
                    critical=0,
                    warning=0,
                    unknown=0,
                    error="",
                )
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                # a scan taken over from a replica that died starts again from the beginning
                await s.execute(
                    delete(DiscoveredEndpoint).where(DiscoveredEndpoint.scan_id == found)
                )
                return found
    return None


@dataclass(frozen=True)
class ScanSummary:
    """What a run of one scan did."""

    scan_id: int
    state: str
    probed: int
    open_endpoints: int
    certificates: int
    critical: int
    warning: int
    unknown: int
    seconds: float
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON for the job record and the CLI."""
        return {
            "scan_id": self.scan_id,
            "state": self.state,
            "probed": self.probed,
            "open_endpoints": self.open_endpoints,
            "certificates": self.certificates,
            "critical": self.critical,
            "warning": self.warning,
            "unknown": self.unknown,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


async def run_scan(
    db: Database,
    clock: Clock,
    scan_id: int,
    holder: str,
    *,
    progress: Progress | None = None,
    resolve_names: bool = True,
) -> ScanSummary:
    """Run a scan this holder has claimed (:func:`claim_scan`) to its end, storing as it goes.

    Args:
        db: The database.
        clock: Time source (judging, timestamps).
        scan_id: The claimed scan.
        holder: Who holds its lease.
        progress: Called after each stored batch with ``{"scan", "total", "done", "open"}``.
        resolve_names: Resolve the repository's names to try them as virtual hosts.

    Returns:
        The outcome. A failure of the scan itself (the database, a setting gone bad) is stored
        on the scan as ``failed`` with its reason, and returned.

    Raises:
        NotFoundError: No such scan.
    """
    started = time.monotonic()
    async with db.reader() as s:
        row = await s.get(DiscoveryScan, scan_id)
        if row is None:
            raise NotFoundError(f"no discovery scan {scan_id}")
        targets, ports, options, total = row.targets, row.ports, dict(row.options), row.pairs
    counts = Counts()
    state, error = "done", ""
    try:
        cfg = await load_discovery_config(db)
        spec = await asyncio.to_thread(parse_targets, targets, ports or None)
        scope = cfg.scope_value()
        judging = await judging_context(db, cfg.trust_policy())
        extra = await virtual_hosts(db, spec, scope, resolve_names=resolve_names)
        results = scan(
            spec,
            scope=scope,
            concurrency=cfg.concurrency,
            per_host=min(cfg.per_host, cfg.concurrency),
            timeouts=Timeouts(connect=cfg.connect_timeout, handshake=cfg.handshake_timeout),
            extra_sni=extra,
            precheck=bool(options.get("precheck")),
            starttls={int(k): str(v) for k, v in dict(options.get("starttls") or {}).items()},
        )
        kept = await _consume(db, clock, scan_id, holder, results, judging, counts, total, progress)
        if not kept:
            state = "cancelled"
    except (ValidationError, OSError) as err:
        state, error = "failed", str(err)
    except asyncio.CancelledError:
        await finish_scan(
            db, clock, scan_id, holder, "queued", "the controller stopped during the scan"
        )
        raise
    await finish_scan(db, clock, scan_id, holder, state, error)
    return ScanSummary(
        scan_id,
        state,
        counts.probed,
        counts.open_endpoints,
        len(counts.certificates),
        counts.critical,
        counts.warning,
        counts.unknown,
        time.monotonic() - started,
        error,
    )


async def _consume(
    db: Database,
    clock: Clock,
    scan_id: int,
    holder: str,
    results: AsyncGenerator[EndpointResult, None],
    judging: Judging,
    counts: Counts,
    total: int,
    progress: Progress | None,
) -> bool:
    pending: list[EndpointResult] = []
    unstored = 0  # closed and filtered ports since the last flush: counted, never stored
    opened = time.monotonic()

    async def flush() -> bool:
        nonlocal pending, unstored
        batch, pending = pending, []
        counts.probed += unstored
        unstored = 0
        prepared = (
            await prepare(db, batch, judging, clock.now()) if batch else Batch([], [], [], {})
        )
        kept = await store_batch(db, scan_id, holder, prepared, counts, clock.now())
        if progress is not None:
            await progress(
                {
                    "scan": scan_id,
                    "total": total,
                    "done": counts.probed,
                    "open": counts.open_endpoints,
                }
            )
        return kept

    async with aclosing(results) as it:
        async for r in it:
            if not pending and not unstored:
                opened = time.monotonic()
            if r.outcome in NOT_STORED:  # most pairs of a range: a count, no row, no judging
                unstored += 1
            else:
                pending.append(r)
            full = len(pending) >= BATCH or time.monotonic() - opened >= FLUSH_SECONDS
            if full and not await flush():
                return False
    if pending or unstored:
        return await flush()
    return await _still_mine(db, scan_id, holder)


async def _still_mine(db: Database, scan_id: int, holder: str) -> bool:
    async with db.reader() as s:
        row = await s.get(DiscoveryScan, scan_id)
    return row is not None and row.state == "running" and row.holder == holder


async def finish_scan(
    db: Database, clock: Clock, scan_id: int, holder: str, state: str, error: str
) -> None:
    """End a scan this holder runs (a cancelled scan stays cancelled; ``queued`` hands it back)."""
    async with db.transaction() as s:
        row = await s.get(DiscoveryScan, scan_id)
        if row is None or row.holder != holder:
            return
        if row.state == "cancelled":
            state = "cancelled"
        row.state, row.error = state, error[:2000]
        row.lease_until = None
        row.finished_at = clock.now() if state != "queued" else None


async def cancel_scan(db: Database, actor: Actor, scan_id: int, clock: Clock) -> DiscoveryScan:
    """Stop a queued or running scan (what it found so far stays).

    Raises:
        NotFoundError: No such scan.
        ConflictError: It has already ended.
    """
    async with db.transaction() as s:
        row = await s.get(DiscoveryScan, scan_id)
        if row is None:
            raise NotFoundError(f"no discovery scan {scan_id}")
        if row.state not in ("queued", "running"):
            raise ConflictError(
                f"discovery scan {scan_id} has already ended ({state_label('scan', row.state)})"
            )
        row.state = "cancelled"
        if row.finished_at is None:
            row.finished_at = clock.now()
        audit(s, actor, "discovery.cancel", "discovery_scan", row.id, {}, clock=clock)
    return row
