"""Queries of agents and their work items."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import Agent, AgentWork

OPEN_WORK = ("queued", "delivered")
"""States of a work item that still waits for the agent's answer."""


async def all_agents(s: AsyncSession) -> list[Agent]:
    """Every agent, oldest first."""
    return list((await s.execute(select(Agent).order_by(Agent.id))).scalars().all())


async def open_work(
    s: AsyncSession,
    *,
    agent_id: int | None = None,
    kind: str | None = None,
    deployment_ids: Sequence[int] | None = None,
    request_id: int | None = None,
    sequence: int | None = None,
    limit: int | None = None,
) -> list[AgentWork]:
    """Work items still waiting for an agent's answer, oldest first, narrowed by the given fields."""
    stmt = select(AgentWork).where(AgentWork.state.in_(OPEN_WORK)).order_by(AgentWork.id)
    if agent_id is not None:
        stmt = stmt.where(AgentWork.agent_id == agent_id)
    if kind is not None:
        stmt = stmt.where(AgentWork.kind == kind)
    if deployment_ids is not None:
        stmt = stmt.where(AgentWork.deployment_id.in_(list(deployment_ids)))
    if request_id is not None:
        stmt = stmt.where(AgentWork.request_id == request_id)
    if sequence is not None:
        stmt = stmt.where(AgentWork.sequence == sequence)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars().all())
