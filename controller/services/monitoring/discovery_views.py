"""Reading discovery results: scans, endpoints with filters, the report and its CSV/JSON export."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import DiscoveredCertificate, DiscoveredEndpoint, DiscoveryScan
from certmgr.controller.services.monitoring.discovery_match import MATCHES
from certmgr.controller.services.monitoring.discovery_scans import scan_json
from certmgr.shared.discovery import Outcome
from certmgr.shared.errors import NotFoundError, ValidationError

VERDICTS = ("ok", "warning", "critical")
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
MAX_PER_PAGE = 1000
CSV_COLUMNS = (
    "scan",
    "target",
    "address",
    "port",
    "sni",
    "starttls",
    "outcome",
    "protocol",
    "cipher",
    "sha256",
    "subject",
    "issuer",
    "not_after",
    "verdict",
    "rules",
    "match",
    "definition_id",
    "deployment_id",
    "handshake_ms",
    "message",
)


@dataclass(frozen=True)
class EndpointView:
    """One stored result with the certificate it served (when any)."""

    endpoint: DiscoveredEndpoint
    certificate: DiscoveredCertificate | None

    def to_json(self) -> dict[str, Any]:
        """The API, CLI and export form."""
        e, c = self.endpoint, self.certificate
        return {
            "id": e.id,
            "scan": e.scan_id,
            "source": e.source,
            "target": e.target,
            "address": e.address,
            "port": e.port,
            "sni": e.sni,
            "starttls": e.starttls,
            "outcome": e.outcome,
            "message": e.message,
            "protocol": e.protocol,
            "cipher": e.cipher,
            "connect_ms": e.connect_ms,
            "starttls_ms": e.starttls_ms,
            "handshake_ms": e.handshake_ms,
            "total_ms": e.total_ms,
            "sha256": e.sha256,
            "subject": c.subject if c else "",
            "common_name": c.common_name if c else "",
            "issuer": c.issuer if c else "",
            "sans": list(c.sans) if c else [],
            "not_after": c.not_after.isoformat() if c else None,
            "verdict": e.verdict,
            "violations": list(e.violations),
            "match": e.match,
            "definition_id": e.definition_id,
            "deployment_id": e.deployment_id,
            "repository_certificate_id": c.certificate_id if c else None,
            "imported_at": e.imported_at.isoformat() if e.imported_at else None,
        }

    @property
    def rules(self) -> list[str]:
        """The ids of the rules broken."""
        return [str(v.get("rule")) for v in self.endpoint.violations]


async def get_scan(db: Database, scan_id: int) -> DiscoveryScan:
    """One scan.

    Raises:
        NotFoundError: No such scan.
    """
    async with db.reader() as s:
        row = await s.get(DiscoveryScan, scan_id)
    if row is None:
        raise NotFoundError(f"no discovery scan {scan_id}")
    return row


async def list_scans(db: Database, *, limit: int = 50) -> list[DiscoveryScan]:
    """The newest scans first."""
    async with db.reader() as s:
        rows = await s.execute(
            select(DiscoveryScan).order_by(DiscoveryScan.id.desc()).limit(max(1, min(limit, 1000)))
        )
        return list(rows.scalars())


def _check(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value in (None, "", "all"):
        return None
    if value not in allowed:
        raise ValidationError(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


async def endpoints(
    db: Database,
    scan_id: int | None = None,
    *,
    verdict: str | None = None,
    match: str | None = None,
    outcome: str | None = None,
    rule: str | None = None,
    tls_only: bool = False,
    ids: list[int] | None = None,
    limit: int = MAX_PER_PAGE,
    offset: int = 0,
) -> list[EndpointView]:
    """Stored results, filtered (by scan, verdict, match, outcome, rule), in scan order.

    Raises:
        ValidationError: An unknown filter value.
    """
    verdict = _check(verdict, VERDICTS, "verdict")
    match = _check(match, MATCHES, "match")
    outcome = _check(outcome, OUTCOMES, "outcome")
    stmt = select(DiscoveredEndpoint, DiscoveredCertificate).outerjoin(
        DiscoveredCertificate, DiscoveredCertificate.id == DiscoveredEndpoint.certificate_id
    )
    if scan_id is not None:
        stmt = stmt.where(DiscoveredEndpoint.scan_id == scan_id)
    if ids is not None:
        stmt = stmt.where(DiscoveredEndpoint.id.in_(ids))
    if verdict:
        stmt = stmt.where(DiscoveredEndpoint.verdict == verdict)
    if match:
        stmt = stmt.where(DiscoveredEndpoint.match == match)
    if outcome:
        stmt = stmt.where(DiscoveredEndpoint.outcome == outcome)
    if tls_only:
        stmt = stmt.where(DiscoveredEndpoint.sha256 != "")
    stmt = stmt.order_by(DiscoveredEndpoint.id).offset(max(0, offset))
    if rule is None:
        stmt = stmt.limit(max(1, min(limit, 100_000)))
    async with db.reader() as s:
        rows = [EndpointView(e, c) for e, c in await s.execute(stmt)]
    if rule:  # rules live in a JSON list: filtered here, the same on every database
        rows = [r for r in rows if rule in r.rules][: max(1, min(limit, 100_000))]
    return rows


@dataclass(frozen=True)
class Report:
    """A scan's report: the scan, counts by verdict, match, outcome and rule, and every TLS result."""

    scan: DiscoveryScan
    by_verdict: dict[str, int]
    by_match: dict[str, int]
    by_outcome: dict[str, int]
    by_rule: dict[str, int]
    results: list[EndpointView]

    def to_json(self) -> dict[str, Any]:
        """The JSON export."""
        return {
            "scan": scan_json(self.scan),
            "by_verdict": self.by_verdict,
            "by_match": self.by_match,
            "by_outcome": self.by_outcome,
            "by_rule": self.by_rule,
            "results": [r.to_json() for r in self.results],
        }


async def scan_report(db: Database, scan_id: int) -> Report:
    """Everything an auditor needs about one scan.

    Raises:
        NotFoundError: No such scan.
    """
    scan = await get_scan(db, scan_id)
    async with db.reader() as s:
        outcomes = dict(
            (
                await s.execute(
                    select(DiscoveredEndpoint.outcome, func.count())
                    .where(DiscoveredEndpoint.scan_id == scan_id)
                    .group_by(DiscoveredEndpoint.outcome)
                )
            ).all()
        )
    results = await endpoints(db, scan_id, tls_only=True, limit=100_000)
    rules: Counter[str] = Counter(rule for r in results for rule in r.rules)
    return Report(
        scan,
        dict(Counter(r.endpoint.verdict for r in results)),
        dict(Counter(r.endpoint.match for r in results)),
        {str(k): int(v) for k, v in outcomes.items()},
        dict(rules.most_common()),
        results,
    )


def results_csv(rows: list[EndpointView]) -> str:
    """The CSV export (one line per result; spreadsheet formulas neutralised)."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(CSV_COLUMNS)
    for r in rows:
        j = r.to_json()
        j["rules"] = " ".join(r.rules)
        out.writerow([_cell(j.get(c)) for c in CSV_COLUMNS])
    return buf.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # a cell starting with = + - @ would be a formula in a spreadsheet (names come from servers)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass(frozen=True)
class DiscoveryMetrics:
    """Discovery numbers for ``/metrics``: scans by state, and the last finished scan's counts."""

    scans_by_state: dict[str, int]
    last_scan: DiscoveryScan | None
    last_by_verdict: dict[str, int]
    last_by_match: dict[str, int]


async def discovery_metrics(db: Database) -> DiscoveryMetrics:
    """The numbers (three small queries)."""
    async with db.reader() as s:
        states = {
            str(k): int(v)
            for k, v in await s.execute(
                select(DiscoveryScan.state, func.count()).group_by(DiscoveryScan.state)
            )
        }
        last = (
            await s.execute(
                select(DiscoveryScan)
                .where(DiscoveryScan.state == "done")
                .order_by(DiscoveryScan.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        verdicts: dict[str, int] = {}
        matches: dict[str, int] = {}
        if last is not None:
            for verdict, match, n in await s.execute(
                select(DiscoveredEndpoint.verdict, DiscoveredEndpoint.match, func.count())
                .where(DiscoveredEndpoint.scan_id == last.id, DiscoveredEndpoint.sha256 != "")
                .group_by(DiscoveredEndpoint.verdict, DiscoveredEndpoint.match)
            ):
                verdicts[verdict] = verdicts.get(verdict, 0) + int(n)
                matches[match] = matches.get(match, 0) + int(n)
    return DiscoveryMetrics(states, last, verdicts, matches)
