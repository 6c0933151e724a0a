"""Discovery by agents: what an agent found on its own host becomes a scan marked with its source.

The controller judges and matches an agent's listeners exactly like its own results (same policy,
same repository match), so they merge in every list, filter, report and import; the scan and each
result say ``agent:<id>``. The agent contacted only its own host, so the controller's scope does
not apply to these results.
"""

from __future__ import annotations

import asyncio
import secrets

from cryptography import x509

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, DiscoveryScan
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.audit import audit
from certmgr.controller.services.monitoring.discovery_config import load_discovery_config
from certmgr.controller.services.monitoring.discovery_match import judging_context
from certmgr.controller.services.monitoring.discovery_scans import BATCH, finish_scan
from certmgr.controller.services.monitoring.discovery_store import (
    SCAN_LEASE,
    Counts,
    prepare,
    store_batch,
)
from certmgr.shared.clock import Clock
from certmgr.shared.discovery import EndpointResult, Outcome
from certmgr.shared.protocol import DiscoveredListener, DiscoveryUpload


def _result(x: DiscoveredListener) -> EndpointResult:
    try:
        chain = tuple(x509.load_der_x509_certificate(der) for der in x.chain)
    except (ValueError, x509.InvalidVersion):
        return EndpointResult(
            x.address,
            x.address,
            x.port,
            x.sni or None,
            x.starttls or None,
            Outcome.ERROR,
            "the agent sent a certificate that cannot be read",
        )
    try:
        outcome = Outcome(x.outcome)
    except ValueError:
        outcome = Outcome.ERROR
    if outcome is Outcome.TLS and not chain:
        outcome = Outcome.ERROR
    return EndpointResult(
        target=x.address,
        address=x.address,
        port=x.port,
        sni=x.sni or None,
        starttls=x.starttls or None,
        outcome=outcome,
        message=x.message or None,
        chain=chain if outcome is Outcome.TLS else (),
        protocol=x.protocol or None,
        cipher=x.cipher or None,
        handshake_ms=float(x.handshake_ms),
    )


async def record_agent_discovery(
    db: Database, clock: Clock, agent: Agent, upload: DiscoveryUpload
) -> int:
    """Store an agent's discovery as a finished scan (source ``agent:<id>``); returns its id."""
    now = clock.now()
    source = f"agent:{agent.id}"
    holder = f"{source}:{secrets.token_hex(4)}"
    cfg = await load_discovery_config(db)
    judging = await judging_context(db, cfg.trust_policy())
    results = await asyncio.to_thread(lambda: [_result(x) for x in upload.listeners])
    actor = Actor(name=f"agent:{agent.name}"[:100], role=Role.SYSTEM, source="agent")
    async with db.transaction() as s:
        row = DiscoveryScan(
            created_by=actor.name,
            source=source,
            targets="\n".join(upload.addresses),
            ports=",".join(str(p) for p in upload.ports),
            options={"agent_version": upload.agent_version},
            state="running",
            pairs=len(upload.addresses) * len(upload.ports),
            holder=holder,
            lease_until=now + SCAN_LEASE,
            created_at=now,
            started_at=now,
        )
        s.add(row)
        await s.flush()
        scan_id = row.id
        audit(
            s,
            actor,
            "discovery.agent",
            "discovery_scan",
            scan_id,
            {"agent": agent.id, "listeners": len(results)},
            clock=clock,
        )
    counts = Counts()
    for i in range(0, len(results), BATCH):
        batch = await prepare(db, results[i : i + BATCH], judging, clock.now())
        await store_batch(db, scan_id, holder, batch, counts, clock.now(), source=source)
    async with db.transaction() as s:
        done = await s.get(DiscoveryScan, scan_id)
        if done is not None:  # the agent probed every pair; only what answered was sent
            done.probed = done.pairs
    await finish_scan(db, clock, scan_id, holder, "done", "")
    return scan_id
