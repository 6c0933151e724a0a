"""How a discovery scan's results are judged, matched and written (one batch at a time)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import DiscoveredCertificate, DiscoveredEndpoint, DiscoveryScan
from certmgr.controller.services.certificates.store import certificate_values
from certmgr.controller.services.monitoring.discovery_match import (
    Judging,
    Match,
    MatchResult,
    Place,
    match_places,
    place_hosts,
)
from certmgr.shared.discovery import EndpointResult, Outcome
from certmgr.shared.discovery.policy import judge

SCAN_LEASE = dt.timedelta(minutes=5)
# Closed and filtered ports are counted, not stored: a /16 would otherwise leave a million rows.
NOT_STORED = frozenset({Outcome.CLOSED, Outcome.FILTERED})


@dataclass
class Counts:
    """Running counts of one scan."""

    probed: int = 0
    open_endpoints: int = 0
    critical: int = 0
    warning: int = 0
    unknown: int = 0
    certificates: set[str] = field(default_factory=set)


def _judge(
    results: list[EndpointResult], j: Judging, now: dt.datetime
) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    for r in results:
        if not r.chain:
            out.append([])
            continue
        violations = judge(
            r.chain,
            policy=j.policy,
            host_name=r.sni,  # an address probed without SNI is not judged by name
            anchors=j.anchors,
            revoked=j.revoked,
            now=now,
            system_roots=j.system_roots,
            known_intermediates=j.known_intermediates,
        )
        out.append([v.to_dict() for v in violations])
    return out


def _certificate_values(chain: tuple[x509.Certificate, ...], now: dt.datetime) -> dict[str, Any]:
    base = certificate_values(chain[0], source="discovered", now=now)
    pem = b"".join(c.public_bytes(Encoding.PEM) for c in chain).decode("ascii")
    return {
        "sha256": base["sha256"],
        "der": base["der"],
        "chain_pem": pem,
        "subject": base["subject"],
        "common_name": base["common_name"],
        "issuer": base["issuer"],
        "sans": base["sans"],
        "not_before": base["not_before"],
        "not_after": base["not_after"],
        "key_label": base["key_label"],
        "self_signed": base["self_signed"],
        "first_seen_at": now,
        "last_seen_at": now,
    }


@dataclass
class Batch:
    """A batch of results with their violations, matches and new certificates."""

    results: list[EndpointResult]
    violations: list[list[dict[str, Any]]]
    matches: list[MatchResult | None]
    certs: dict[str, dict[str, Any]]


async def prepare(
    db: Database, results: list[EndpointResult], j: Judging, now: dt.datetime
) -> Batch:
    """Judge (in a thread) and match a batch of results."""

    def cpu() -> tuple[list[list[dict[str, Any]]], dict[str, dict[str, Any]]]:
        violations = _judge(results, j, now)
        certs: dict[str, dict[str, Any]] = {}
        for r in results:
            if r.chain and (fp := r.leaf_sha256) is not None and fp not in certs:
                certs[fp] = _certificate_values(r.chain, now)
        return violations, certs

    violations, certs = await asyncio.to_thread(cpu)
    places = [
        Place(r.leaf_sha256 or "", r.port or 0, place_hosts(r.address, r.target, r.sni))
        for r in results
        if r.chain
    ]
    found = iter(await match_places(db, places))
    matches = [next(found) if r.chain else None for r in results]
    return Batch(results, violations, matches, certs)


async def store_batch(
    db: Database,
    scan_id: int,
    holder: str,
    batch: Batch,
    counts: Counts,
    now: dt.datetime,
    *,
    source: str = "controller",
) -> bool:
    """Write one batch; False when the scan was cancelled or its lease was taken over."""
    for attempt in range(2):
        try:
            async with db.transaction() as s:
                row = await s.get(DiscoveryScan, scan_id)
                if row is None or row.state != "running" or row.holder != holder:
                    return False
                ids = await _certificate_ids(s, batch.certs, now)
                for r, violations, m in zip(
                    batch.results, batch.violations, batch.matches, strict=True
                ):
                    if r.outcome in NOT_STORED:
                        continue
                    fp = r.leaf_sha256 or ""
                    worst = str(verdict_of(violations)) if r.chain else ""
                    s.add(
                        DiscoveredEndpoint(
                            scan_id=scan_id,
                            source=source,
                            target=r.target[:300],
                            address=r.address,
                            port=r.port,
                            sni=(r.sni or "")[:255],
                            starttls=r.starttls or "",
                            outcome=str(r.outcome),
                            message=(r.message or "")[:2000],
                            protocol=r.protocol or "",
                            cipher=(r.cipher or "")[:100],
                            connect_ms=r.connect_ms,
                            starttls_ms=r.starttls_ms,
                            handshake_ms=r.handshake_ms,
                            total_ms=r.total_ms,
                            certificate_id=ids.get(fp),
                            sha256=fp,
                            verdict=worst,
                            violations=violations,
                            match=str(m.match) if m else "",
                            definition_id=m.definition_id if m else None,
                            deployment_id=m.deployment_id if m else None,
                        )
                    )
                count_batch(counts, batch)
                row.probed, row.open_endpoints = counts.probed, counts.open_endpoints
                row.critical, row.warning = counts.critical, counts.warning
                row.unknown, row.certificates = counts.unknown, len(counts.certificates)
                row.lease_until = now + SCAN_LEASE
        except IntegrityError:
            if attempt:
                raise
            # another scan stored the same new certificate at the same moment: read it back
        else:
            return True
    return False  # pragma: no cover - the loop returns or raises


async def _certificate_ids(
    s: Any, certs: dict[str, dict[str, Any]], now: dt.datetime
) -> dict[str, int]:
    if not certs:
        return {}
    known = {
        fp: cid
        for cid, fp in await s.execute(
            select(DiscoveredCertificate.id, DiscoveredCertificate.sha256).where(
                DiscoveredCertificate.sha256.in_(list(certs))
            )
        )
    }
    if known:
        await s.execute(
            update(DiscoveredCertificate)
            .where(DiscoveredCertificate.id.in_(list(known.values())))
            .values(last_seen_at=now)
        )
    for fp, values in certs.items():
        if fp not in known:
            row = DiscoveredCertificate(**values)
            s.add(row)
            await s.flush()
            known[fp] = row.id
    return known


def verdict_of(violations: list[dict[str, Any]]) -> str:
    """``ok``, ``warning`` or ``critical`` from stored violations."""
    severities = {v.get("severity") for v in violations}
    if "critical" in severities:
        return "critical"
    return "warning" if violations else "ok"


def count_batch(counts: Counts, batch: Batch) -> None:
    """Add a stored batch to the running counts."""
    for r, violations, m in zip(batch.results, batch.violations, batch.matches, strict=True):
        counts.probed += 1
        if not r.chain:
            continue
        counts.open_endpoints += 1
        counts.certificates.add(r.leaf_sha256 or "")
        worst = verdict_of(violations)
        counts.critical += worst == "critical"
        counts.warning += worst == "warning"
        counts.unknown += m is not None and m.match is Match.UNKNOWN
