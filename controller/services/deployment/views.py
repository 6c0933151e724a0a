"""Read models for the Deployment Processes screen and the API (no N+1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateDefinition, CheckResult, Deployment
from certmgr.controller.domain.states import FINISHED_DEPLOYMENT, DeploymentStatus


@dataclass(frozen=True)
class DeploymentRow:
    """A deployment with its definition and last check."""

    dep: Deployment
    definition: CertificateDefinition
    last: CheckResult | None

    @property
    def outdated(self) -> bool:
        """Not the definition's current certificate."""
        return (
            self.definition.current_certificate_id is not None
            and self.dep.certificate_id != self.definition.current_certificate_id
        )

    @property
    def ongoing(self) -> bool:
        """Still being deployed."""
        return DeploymentStatus(self.dep.status) not in FINISHED_DEPLOYMENT

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
