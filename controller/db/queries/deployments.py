"""Queries of deployments and their check results."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import CheckResult, Deployment


async def all_deployments(s: AsyncSession) -> list[Deployment]:
    """Every deployment, oldest first."""
    return list((await s.execute(select(Deployment).order_by(Deployment.id))).scalars().all())


async def check_by_id(s: AsyncSession, check_id: int | None) -> CheckResult | None:
    """A check result (None for no id or no such row)."""
    return await s.get(CheckResult, check_id) if check_id else None


async def recent_checks(s: AsyncSession, deployment_id: int, limit: int = 20) -> list[CheckResult]:
    """A deployment's latest check results, newest first."""
    return list(
        (
            await s.execute(
                select(CheckResult)
                .where(CheckResult.deployment_id == deployment_id)
                .order_by(CheckResult.at.desc(), CheckResult.id.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def deployments_named(s: AsyncSession, name: str) -> list[Deployment]:
    """Deployments with this name, oldest first (retired ones only when no other has it)."""
    rows = list(
        (await s.execute(select(Deployment).where(Deployment.name == name).order_by(Deployment.id)))
        .scalars()
        .all()
    )
    live = [d for d in rows if d.status != "retired"]
    return live or rows
