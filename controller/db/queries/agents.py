"""Queries of agents and their work items."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from sqlalchemy import Integer, Select, bindparam, select, update
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
    agent_ids: Sequence[int] | None = None,
    kind: str | None = None,
    deployment_ids: Sequence[int] | None = None,
    request_id: int | None = None,
    sequence: int | None = None,
    limit: int | None = None,
) -> list[AgentWork]:
    """Work items still waiting for an agent's answer, oldest first, narrowed by the given fields."""
    given = {
        "agent_id": agent_id,
        "agent_ids": None if agent_ids is None else list(agent_ids),
        "kind": kind,
        "deployment_ids": None if deployment_ids is None else list(deployment_ids),
        "request_id": request_id,
        "sequence": sequence,
        "limit": limit,
    }
    params = {k: v for k, v in given.items() if v is not None}
    stmt = _open_work_select(frozenset(params))
    return list((await s.execute(stmt, params)).scalars().all())


@functools.cache
def _open_work_select(given: frozenset[str]) -> Select[AgentWork]:
    """The query of open work narrowed by ``given`` fields, built once per shape (every poll runs one)."""
    stmt = select(AgentWork).where(AgentWork.state.in_(OPEN_WORK)).order_by(AgentWork.id)
    for name in ("agent_id", "kind", "request_id", "sequence"):
        if name in given:
            stmt = stmt.where(getattr(AgentWork, name) == bindparam(name))
    if "deployment_ids" in given:
        stmt = stmt.where(AgentWork.deployment_id.in_(bindparam("deployment_ids", expanding=True)))
    if "agent_ids" in given:
        stmt = stmt.where(AgentWork.agent_id.in_(bindparam("agent_ids", expanding=True)))
    if "limit" in given:
        stmt = stmt.limit(bindparam("limit", type_=Integer))
    return stmt


async def mark_delivered(s: AsyncSession, work_ids: Sequence[int], at: dt.datetime) -> None:
    """Mark work items handed over to their agent (one statement for all of them)."""
    if work_ids:
        await s.execute(
            update(AgentWork)
            .where(AgentWork.id.in_(list(work_ids)))
            .values(state="delivered", delivered_at=at)
            .execution_options(synchronize_session=False)
        )


async def agent_statuses(s: AsyncSession, agent_ids: Sequence[int]) -> dict[int, str]:
    """The current status of each of these agents that still exists."""
    rows = await s.execute(select(Agent.id, Agent.status).where(Agent.id.in_(list(agent_ids))))
    return {int(i): str(st) for i, st in rows.all()}
