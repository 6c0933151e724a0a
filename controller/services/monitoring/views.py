"""Read models of Monitor Control and Findings: check history with filters, jobs, findings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CheckResult,
    Deployment,
    Finding,
)
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains
from certmgr.controller.domain.status import check_badge
from certmgr.controller.services.certificates.overview import Page

RESULTS = ("ok", "failed", "unreachable")
SOURCES = ("monitor", "deploy-check", "manual", "oneclick", "agent")


@dataclass(frozen=True)
class HistoryRow:
    """One stored check with the deployment it belongs to."""

    check: CheckResult
    deployment_id: int
    server_name: str
    endpoint: str
    definition_id: int
    definition: str

    def to_json(self) -> dict[str, Any]:
        """JSON for the API."""
        c = self.check
        judged = c.reachable and bool(c.served_sha256)  # else: no verdict on a certificate
        return {
            "id": c.id,
            "deployment_id": self.deployment_id,
            "server_name": self.server_name,
            "endpoint": self.endpoint,
            "definition": self.definition,
            "at": c.at.isoformat(),
            "source": c.source,
            "ok": c.ok,
            "reachable": c.reachable,
            "served_sha256": c.served_sha256,
            "outcome": check_badge(c.ok, c.reachable, c.served_sha256).label,
            "matches_current": c.matches_current if judged else None,
            "chain_complete": c.chain_complete if judged else None,
            "chain_in_order": c.chain_in_order if judged else None,
            "hostname_matches": c.hostname_matches if judged else None,
            "days_left": c.days_left,
            "error": c.error,
        }


async def check_history(
    db: Database,
    *,
    deployment_id: int | None = None,
    result: str = "",
    source: str = "",
    q: str = "",
    since: dt.datetime | None = None,
    page: int = 1,
    per_page: int = 50,
    after_id: int | None = None,
) -> Page[HistoryRow]:
    """Stored checks, newest first, filtered by deployment, result, source, host and time.

    With ``after_id`` the page holds the checks older than that id (keyset paging for the API).
    """
    stmt = (
        select(CheckResult, Deployment, CertificateDefinition.name)
        .join(Deployment, Deployment.id == CheckResult.deployment_id)
        .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
    )
    if deployment_id is not None:
        stmt = stmt.where(CheckResult.deployment_id == deployment_id)
    if result == "ok":
        stmt = stmt.where(CheckResult.ok.is_(True))
    elif result == "failed":  # the same words as the badges: unreachable is not failed
        stmt = stmt.where(CheckResult.ok.is_(False), CheckResult.reachable.is_(True))
    elif result == "unreachable":
        stmt = stmt.where(CheckResult.reachable.is_(False))
    if source in SOURCES:
        stmt = stmt.where(CheckResult.source == source)
    if q:
        like = contains(q)
        stmt = stmt.where(
            or_(
                Deployment.server_name.ilike(like, escape=LIKE_ESCAPE),
                Deployment.check_host.ilike(like, escape=LIKE_ESCAPE),
                CertificateDefinition.name.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    if since is not None:
        stmt = stmt.where(CheckResult.at >= since)
    if after_id is not None:
        stmt = stmt.where(CheckResult.id < after_id)
        page = 1
    async with db.reader() as s:
        total = int(
            (
                await s.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
            ).scalar_one()
        )
        rows = await s.execute(
            stmt.order_by(CheckResult.id.desc()).limit(per_page).offset((page - 1) * per_page)
        )
        items = [
            HistoryRow(
                c,
                dep.id,
                dep.server_name,
                f"{dep.check_host}:{dep.check_port}",
                dep.definition_id,
                name,
            )
            for c, dep, name in rows
        ]
    return Page(items, total, page, per_page)


@dataclass(frozen=True)
class FindingRow:
    """A finding with the certificate and deployment it concerns."""

    finding: Finding
    definition: str | None
    server_name: str | None
    not_after: dt.datetime | None
    sha256: str | None


async def findings_page(
    db: Database,
    *,
    state: str = "open",
    kind: str = "",
    severity: str = "",
    q: str = "",
    page: int = 1,
    per_page: int = 100,
) -> Page[FindingRow]:
    """Findings (open, cleared or all), critical first, with their certificate and deployment.

    ``q`` is text in the finding's message, its definition's name or its server's name.
    """
    stmt = (
        select(
            Finding,
            CertificateDefinition.name,
            Deployment.server_name,
            Certificate.not_after,
            Certificate.sha256,
        )
        .outerjoin(CertificateDefinition, CertificateDefinition.id == Finding.definition_id)
        .outerjoin(Deployment, Deployment.id == Finding.deployment_id)
        .outerjoin(Certificate, Certificate.id == CertificateDefinition.current_certificate_id)
    )
    if state in ("open", "cleared"):
        stmt = stmt.where(Finding.state == state)
    if kind:
        stmt = stmt.where(Finding.kind == kind)
    if severity:
        stmt = stmt.where(Finding.severity == severity)
    if q:
        like = contains(q)
        stmt = stmt.where(
            or_(
                Finding.message.ilike(like, escape=LIKE_ESCAPE),
                CertificateDefinition.name.ilike(like, escape=LIKE_ESCAPE),
                Deployment.server_name.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    order = [Finding.severity, Finding.opened_at.desc(), Finding.id.desc()]
    if state == "cleared":
        order = [Finding.cleared_at.desc(), Finding.id.desc()]
    async with db.reader() as s:
        total = int(
            (
                await s.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
            ).scalar_one()
        )
        rows = await s.execute(stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page))
        items = [FindingRow(f, name, server, na, sha) for f, name, server, na, sha in rows]
    return Page(items, total, page, per_page)


async def finding_counts(db: Database) -> dict[str, int]:
    """Open findings per severity."""
    async with db.reader() as s:
        rows = await s.execute(
            select(Finding.severity, func.count(Finding.id))
            .where(Finding.state == "open")
            .group_by(Finding.severity)
        )
        return {str(k): int(v) for k, v in rows}
