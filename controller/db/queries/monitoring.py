"""Queries for monitoring rounds shared between controllers: what to check, what is done."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import CertificateDefinition, CheckResult, Deployment


async def monitored_deployment_ids(s: AsyncSession) -> list[int]:
    """Ids of the deployments a monitoring run checks (monitored, definition not archived)."""
    stmt = (
        select(Deployment.id)
        .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
        .where(Deployment.monitoring.is_(True), CertificateDefinition.archived.is_(False))
        .order_by(Deployment.id)
    )
    return list((await s.execute(stmt)).scalars())


async def checked_since(
    s: AsyncSession, deployment_ids: Sequence[int], since: dt.datetime, source: str
) -> set[int]:
    """Which of ``deployment_ids`` have a check from ``source`` at or after ``since``."""
    if not deployment_ids:
        return set()
    stmt = select(CheckResult.deployment_id).where(
        CheckResult.deployment_id.in_(list(deployment_ids)),
        CheckResult.source == source,
        CheckResult.at >= since,
    )
    return set((await s.execute(stmt)).scalars())
