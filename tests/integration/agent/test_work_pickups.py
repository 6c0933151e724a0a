"""Polls woken by an install take their packages together: one write transaction for all of them.

Each agent gets its own packages and nobody else's, every item is marked delivered, a revoked
agent is told so, and when the shared transaction fails each poll is served on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AgentWork
from certmgr.controller.services.agents import work as work_svc
from certmgr.controller.services.agents.work import WorkPickups, queue_installs
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import SystemClock
from tests.factories.homes import ahome_with_web_certificate
from tests.factories.sim_agents import ADMIN, enroll_sim_agent

AGENTS = 6


@pytest.fixture
async def home(tmp_path: Path, database_url: str) -> Path:
    return await ahome_with_web_certificate(tmp_path, database_url)


Fleet = tuple[Database, list[Agent], dict[int, int]]


@pytest.fixture
async def fleet(home: Path) -> AsyncIterator[Fleet]:
    """The home's database, approved agents each with one queued package, and their deployments."""
    settings = load_settings(home)
    db = Database(settings.database_url)
    try:
        agents, deployments = await _fleet(db, read_master_key(settings.master_key_path))
        yield db, agents, deployments
    finally:
        await db.dispose()


async def _fleet(db: Database, vault: Any) -> tuple[list[Agent], dict[int, int]]:
    """Approved agents, each with one queued package; their deployment ids by agent id."""
    clock = SystemClock()
    agents: list[Agent] = []
    deployments: dict[int, int] = {}
    for n in range(AGENTS):
        sim = await enroll_sim_agent(db, vault, f"web{n}", auto_approve=True)
        spec = DeploymentSpec(
            definition_ref="web",
            server_name=f"web{n}",
            software="files",
            delivery="agent",
            agent_id=int(sim.agent_id),
        )
        deployments[int(sim.agent_id)] = (await create_deployment(db, ADMIN, spec, clock)).id
    await queue_installs(db, vault, ADMIN, list(deployments.values()), clock)
    async with db.reader() as s:
        agents = list((await s.execute(select(Agent).order_by(Agent.id))).scalars().all())
    return agents, deployments


async def test_woken_polls_take_their_own_packages_in_one_transaction(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, agents, deployments = fleet
    # revoked while its poll waited: the agent as read by the poll still says approved
    async with db.transaction() as s:
        row = await s.get(Agent, agents[-1].id)
        assert row is not None
        row.status = "revoked"
    assert agents[-1].status == "approved"
    transactions = 0
    real = db.transaction

    def counted() -> Any:
        nonlocal transactions
        transactions += 1
        return real()

    monkeypatch.setattr(db, "transaction", counted)
    pickups = WorkPickups(db, SystemClock())
    answers = await asyncio.gather(*(pickups.take(a) for a in agents))
    monkeypatch.undo()

    assert transactions == 1
    for agent, answer in zip(agents[:-1], answers[:-1], strict=True):
        assert [w.deployment_id for w in answer.packages] == [deployments[agent.id]]
        assert not answer.revoked
    assert answers[-1].revoked and answers[-1].packages == ()
    async with db.reader() as s:
        states = dict((await s.execute(select(AgentWork.agent_id, AgentWork.state))).all())
    revoked = agents[-1].id
    assert states == {a.id: "queued" if a.id == revoked else "delivered" for a in agents}


async def test_a_failed_shared_pickup_serves_each_poll_on_its_own(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, agents, deployments = fleet

    real = work_svc.take_work

    async def broken(db_: Database, agents_: Any, clock: Any) -> Any:
        if len(agents_) > 1:
            raise RuntimeError("the shared transaction failed")
        return await real(db_, agents_, clock)

    monkeypatch.setattr(work_svc, "take_work", broken)
    pickups = WorkPickups(db, SystemClock())
    answers = await asyncio.gather(*(pickups.take(a) for a in agents))
    for agent, answer in zip(agents, answers, strict=True):
        assert [w.deployment_id for w in answer.packages] == [deployments[agent.id]]
    async with db.reader() as s:
        states = set((await s.execute(select(AgentWork.state))).scalars().all())
    assert states == {"delivered"}


async def test_an_install_on_many_records_each_deployments_history_and_audit(fleet: Fleet) -> None:
    """The bulk INSERTs of an install write what a state change writes one by one."""
    from certmgr.controller.db.models import AuditEvent, Deployment, DeploymentEvent

    db, agents, deployments = fleet
    async with db.reader() as s:
        events = (await s.execute(select(DeploymentEvent))).scalars().all()
        records = (
            (await s.execute(select(AuditEvent).where(AuditEvent.entity_type == "deployment")))
            .scalars()
            .all()
        )
        deps = {d.id: d for d in (await s.execute(select(Deployment))).scalars().all()}
    queued = {e.deployment_id: e for e in events if e.event == "install-requested"}
    audited = {int(r.entity_id): r for r in records if r.action == "deployment.install-requested"}
    names = {a.id: a.name for a in agents}
    for agent_id, dep_id in deployments.items():
        event, record = queued[dep_id], audited[dep_id]
        detail = {"from": "draft", "agent": agent_id, "sequence": 1}
        assert event.message == f"package 1 queued for agent {names[agent_id]}"
        assert event.detail == detail and event.actor == ADMIN.name
        assert record.detail == detail
        assert (record.actor, record.source) == (ADMIN.name, ADMIN.source)
        assert deps[dep_id].status == "install-requested" and deps[dep_id].sequence == 1
