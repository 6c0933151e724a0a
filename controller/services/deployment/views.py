"""Read models of deployments for the console, the API and the CLI (no N+1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    CertificateDefinition,
    CheckResult,
    Deployment,
    DeploymentEvent,
    Document,
)
from certmgr.controller.db.queries.deployments import (
    DEPLOYMENT_SORTS as DEPLOYMENT_SORTS,  # the list's choices, for the console
)
from certmgr.controller.db.queries.deployments import (
    DEPLOYMENT_VIEWS as DEPLOYMENT_VIEWS,
)
from certmgr.controller.db.queries.deployments import (
    all_deployments,
    check_by_id,
    deployment_page,
    deployment_view_counts,
    recent_checks,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import FINISHED_DEPLOYMENT, DeploymentStatus
from certmgr.controller.services.certificates.documents import latest_package
from certmgr.controller.services.certificates.overview import Page
from certmgr.controller.services.deployment.deployments import deployment_with_definition, history


@dataclass(frozen=True)
class DeploymentRow:
    """A deployment with its definition and last check."""

    dep: Deployment
    definition: CertificateDefinition
    last: CheckResult | None

    @property
    def outdated(self) -> bool:
        """Not the definition's current certificate (a retired deployment needs nothing)."""
        return (
            self.dep.status != DeploymentStatus.RETIRED.value
            and self.definition.current_certificate_id is not None
            and self.dep.certificate_id != self.definition.current_certificate_id
        )

    @property
    def ongoing(self) -> bool:
        """Still being deployed (a retired one is not)."""
        status = DeploymentStatus(self.dep.status)
        return status not in FINISHED_DEPLOYMENT and status is not DeploymentStatus.RETIRED

    @property
    def failing(self) -> bool:
        """Last check failed."""
        return self.last is not None and not self.last.ok

    def to_json(self) -> dict[str, Any]:
        """JSON for the API."""
        return {
            "id": self.dep.id,
            "definition_id": self.definition.id,
            "definition": self.definition.name,
            "server_name": self.dep.server_name,
            "software": self.dep.target_type,
            "delivery": self.dep.delivery,
            "status": self.dep.status,
            "outdated": self.outdated,
            "last_check": None
            if self.last is None
            else {
                "id": self.last.id,
                "at": self.last.at.isoformat(),
                "ok": self.last.ok,
                "source": self.last.source,
                "error": self.last.error,
            },
        }


async def deployment_rows(
    db: Database, *, definition_id: int | None = None, limit: int = 2000
) -> list[DeploymentRow]:
    """Deployments with definition and last check, in three queries."""
    async with db.reader() as s:
        stmt = (
            select(Deployment, CertificateDefinition)
            .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
            .order_by(Deployment.id)
            .limit(limit)
        )
        if definition_id is not None:
            stmt = stmt.where(Deployment.definition_id == definition_id)
        pairs = (await s.execute(stmt)).all()
        ids = [dep.last_check_id for dep, _ in pairs if dep.last_check_id]
        checks: dict[int, CheckResult] = {}
        for i in range(0, len(ids), 500):
            for c in (
                (await s.execute(select(CheckResult).where(CheckResult.id.in_(ids[i : i + 500]))))
                .scalars()
                .all()
            ):
                checks[c.id] = c
    return [
        DeploymentRow(dep, d, checks.get(dep.last_check_id) if dep.last_check_id else None)
        for dep, d in pairs
    ]


@dataclass(frozen=True)
class DeploymentList:
    """One page of the deployment list and how many deployments each view holds."""

    page: Page[DeploymentRow]
    counts: dict[str, int]


async def deployments_page(
    db: Database,
    *,
    q: str = "",
    status: str = "",
    delivery: str = "",
    view: str = "all",
    sort: str = "id",
    desc: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> DeploymentList:
    """Deployments filtered (text, state, delivery, view), sorted and paged on the server."""
    per_page = max(1, min(per_page, 200))
    async with db.reader() as s:
        rows, total = await deployment_page(
            s,
            q=q,
            status=status,
            delivery=delivery,
            view=view if view in DEPLOYMENT_VIEWS else "all",
            sort=sort,
            desc=desc,
            limit=per_page,
            offset=(page - 1) * per_page,
        )
        counts = await deployment_view_counts(s)
    items = [DeploymentRow(dep, d, last) for dep, d, last in rows]
    return DeploymentList(Page(items, total, page, per_page), counts)


@dataclass(frozen=True)
class DeploymentDetail:
    """One deployment as its detail page, ``GET /deployments/{id}`` and ``deployment show`` see it."""

    dep: Deployment
    definition: CertificateDefinition
    last: CheckResult | None
    checks: list[CheckResult]
    events: list[DeploymentEvent]
    package: Document | None

    @property
    def row(self) -> DeploymentRow:
        """The deployment as a list row."""
        return DeploymentRow(self.dep, self.definition, self.last)


async def deployment_detail(
    db: Database, actor: Actor, dep_ref: str | int, *, checks: int = 20
) -> DeploymentDetail:
    """A deployment with its definition, last and recent checks, history and (when ``actor`` may read it) package.

    Raises:
        NotFoundError: No such deployment.
    """
    async with db.reader() as s:
        dep, d = await deployment_with_definition(s, dep_ref)
        last = await check_by_id(s, dep.last_check_id)
        recent = await recent_checks(s, dep.id, checks)
    return DeploymentDetail(
        dep,
        d,
        last,
        recent,
        await history(db, dep.id),
        await latest_package(db, actor, dep.id),
    )


async def list_deployments(db: Database) -> list[Deployment]:
    """Every deployment, oldest first."""
    async with db.reader() as s:
        return await all_deployments(s)


async def find_deployment_row(db: Database, dep_ref: str | int) -> DeploymentRow:
    """One deployment as a list row.

    Raises:
        NotFoundError: No such deployment.
    """
    async with db.reader() as s:
        dep, d = await deployment_with_definition(s, dep_ref)
        return DeploymentRow(dep, d, await check_by_id(s, dep.last_check_id))


def deployment_json(x: Deployment) -> dict[str, Any]:
    """A deployment as JSON (the CLI's ``--json``)."""
    return {
        "id": x.id,
        "definition_id": x.definition_id,
        "name": x.name,
        "server_name": x.server_name,
        "common_name": x.common_name,
        "check_host": x.check_host,
        "check_port": x.check_port,
        "sni": x.sni,
        "starttls": x.starttls,
        "software": x.target_type,
        "delivery": x.delivery,
        "admin_email": x.admin_email,
        "monitoring": x.monitoring,
        "status": x.status,
        "certificate_id": x.certificate_id,
        "agent_id": x.agent_id,
        "sequence": x.sequence,
        "last_check_id": x.last_check_id,
    }
