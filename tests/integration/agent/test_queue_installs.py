"""Queuing agent installs: sealed outside the write transaction, all or none, and safe when raced.

Two installs asked at once for one deployment both succeed with their own sequence numbers and
only the newer package stays open; a batch with one deployment that is not an agent's records
nothing; the package that is queued opens with the agent's key to the definition's certificate.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AgentWork, Certificate, CertificateDefinition, Deployment
from certmgr.controller.services.agents.identity import signing_key
from certmgr.controller.services.agents.work import queue_installs
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import SystemClock
from certmgr.shared.envelope import open_for_agent
from certmgr.shared.errors import ConflictError, ValidationError
from tests.factories.homes import ahome_with_web_certificate
from tests.factories.sim_agents import ADMIN, enroll_sim_agent


@pytest.fixture
async def home(tmp_path: Path, database_url: str) -> Path:
    return await ahome_with_web_certificate(tmp_path, database_url)


async def _deployment(db: Database, server: str, *, agent_id: int | None) -> int:
    spec = DeploymentSpec(
        definition_ref="web",
        server_name=server,
        software="files",
        delivery="agent" if agent_id is not None else "conventional",
        agent_id=agent_id,
    )
    return (await create_deployment(db, ADMIN, spec, SystemClock())).id


async def test_raced_installs_each_get_a_sequence_and_only_the_newest_stays_open(
    home: Path,
) -> None:
    settings = load_settings(home)
    vault = read_master_key(settings.master_key_path)
    db = Database(settings.database_url)
    try:
        agent = await enroll_sim_agent(db, vault, "web1", auto_approve=True)
        dep_id = await _deployment(db, "web1", agent_id=int(agent.agent_id))
        got = await asyncio.gather(
            *(queue_installs(db, vault, ADMIN, [dep_id], SystemClock()) for _ in range(3))
        )
        sequences = sorted(q.sequence for (q,) in got)
        assert sequences == [1, 2, 3]
        async with db.reader() as s:
            work = (
                (await s.execute(select(AgentWork).where(AgentWork.deployment_id == dep_id)))
                .scalars()
                .all()
            )
            dep = await s.get(Deployment, dep_id)
            d = (
                await s.execute(
                    select(CertificateDefinition).where(CertificateDefinition.name == "web")
                )
            ).scalar_one()
            cert = await s.get(Certificate, d.current_certificate_id)
        assert dep is not None and dep.sequence == 3 and cert is not None
        assert sorted((w.sequence, w.state) for w in work) == [
            (1, "superseded"), (2, "superseded"), (3, "queued")
        ]  # fmt: skip
        open_blob = next(w.blob for w in work if w.state == "queued")
        assert open_blob is not None
        verify = (await signing_key(db, vault)).verify_key
        manifest = open_for_agent(
            open_blob, agent.box, verify, installed_sequence=None, now=SystemClock().now()
        )
        assert manifest.sequence == 3 and manifest.private_key_pkcs8
        assert b"BEGIN CERTIFICATE" in manifest.certificate_pem
    finally:
        await db.dispose()


async def test_a_batch_with_one_unfit_deployment_records_nothing(home: Path) -> None:
    settings = load_settings(home)
    vault = read_master_key(settings.master_key_path)
    db = Database(settings.database_url)
    try:
        agent = await enroll_sim_agent(db, vault, "web1", auto_approve=True)
        good = await _deployment(db, "web1", agent_id=int(agent.agent_id))
        manual = await _deployment(db, "web2", agent_id=None)
        with pytest.raises(
            ConflictError, match=f"deployment {manual} is not delivered by an agent"
        ):
            await queue_installs(db, vault, ADMIN, [good, manual], SystemClock())
        async with db.reader() as s:
            assert (await s.execute(select(AgentWork))).scalars().all() == []
            dep = await s.get(Deployment, good)
            assert dep is not None and dep.sequence == 0 and dep.status == "draft"
    finally:
        await db.dispose()


async def test_a_deployment_made_before_the_rule_cannot_send_a_command(home: Path) -> None:
    """Issue 12 sibling: target parameters are checked again when a package is queued."""
    settings = load_settings(home)
    vault = read_master_key(settings.master_key_path)
    db = Database(settings.database_url)
    try:
        agent = await enroll_sim_agent(db, vault, "web1", auto_approve=True)
        dep_id = await _deployment(db, "web1", agent_id=int(agent.agent_id))
        async with db.transaction() as s:  # as an older certmgr stored it
            dep = await s.get(Deployment, dep_id)
            assert dep is not None
            dep.target_params = {"reload_cmd": ["/bin/sh", "-c", "id"]}
        with pytest.raises(ValidationError) as info:
            await queue_installs(db, vault, ADMIN, [dep_id], SystemClock())
        assert info.value.field == "reload_cmd"
        async with db.reader() as s:
            assert (await s.execute(select(AgentWork))).scalars().all() == []
    finally:
        await db.dispose()


async def test_a_woken_poll_takes_its_package_and_its_report_installs_it(home: Path) -> None:
    """Pickup by a woken poll, re-sent until reported, the report moves the deployment (both databases)."""
    from certmgr.controller.db.models import Agent
    from certmgr.controller.services.agents.inventory import accept_report
    from certmgr.controller.services.agents.work import pending_work
    from certmgr.shared import protocol as p

    settings = load_settings(home)
    vault = read_master_key(settings.master_key_path)
    db = Database(settings.database_url)
    clock = SystemClock()
    try:
        sim = await enroll_sim_agent(db, vault, "web1", auto_approve=True)
        dep_id = await _deployment(db, "web1", agent_id=int(sim.agent_id))
        other = await _deployment(db, "web1b", agent_id=int(sim.agent_id))
        (queued,) = await queue_installs(db, vault, ADMIN, [dep_id], clock)
        async with db.reader() as s:
            agent = await s.get(Agent, int(sim.agent_id))
        assert agent is not None
        woken = await pending_work(db, agent, clock, woken=True)
        again = await pending_work(db, agent, clock)  # not reported yet: handed over again
        assert [(w.deployment_id, w.sequence) for w in woken.packages] == [(dep_id, 1)]
        assert again.packages == woken.packages
        async with db.reader() as s:
            (work,) = (await s.execute(select(AgentWork))).scalars().all()
        assert work.state == "delivered" and work.delivered_at is not None
        followed: list[int] = []
        for deployment, sequence in ((other, 1), (dep_id, 2), (dep_id, queued.sequence)):
            # only the open package's own report counts: another deployment's, a wrong sequence
            report = p.Report(deployment_id=deployment, sequence=sequence, ok=True, target="t")
            await accept_report(db, agent, report, clock, lambda d, _a, _h: followed.append(d))
        assert followed == [dep_id]
        async with db.reader() as s:
            (work,) = (await s.execute(select(AgentWork))).scalars().all()
            dep = await s.get(Deployment, dep_id)
            untouched = await s.get(Deployment, other)
        assert work.state == "done" and dep is not None and dep.status == "installed"
        assert untouched is not None and untouched.status == "draft"
        assert (await pending_work(db, agent, clock, woken=True)).packages == ()
    finally:
        await db.dispose()
