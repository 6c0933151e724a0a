"""A replayed agent request is refused before it does anything, through the real agent API.

A poll and an install report each record their request's nonce in the transaction that acts on
them. Sent a second time, byte for byte, both are refused (403) and change nothing: a replayed
poll hands over no work queued since, and a replayed report does not write its inventory again
over a newer one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AgentNonce, AgentWork, Deployment
from certmgr.controller.services.agents.work import queue_installs
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.vault import read_master_key
from certmgr.shared import protocol as p
from certmgr.shared.clock import SystemClock
from tests.factories.console import Console, console_client
from tests.factories.homes import ahome_with_web_certificate
from tests.factories.sim_agents import ADMIN, SimAgent, enroll_sim_agent


@pytest.fixture
async def home(tmp_path: Path, database_url: str) -> Path:
    return await ahome_with_web_certificate(tmp_path, database_url)


def _signed(agent: SimAgent, method: str, path: str, body: bytes = b"") -> dict[str, str]:
    headers = p.sign_request(
        agent.key, agent.agent_id, method, path, body, dt.datetime.now(dt.UTC), p.new_nonce()
    )
    if body:
        headers["Content-Type"] = "application/json"
    return headers


async def _send(c: Console, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
    resp = await c.client.request(method, path, data=body or None, headers=headers)
    await resp.read()
    return resp.status


async def _nonces(db: Database) -> int:
    async with db.reader() as s:
        return int((await s.execute(select(func.count()).select_from(AgentNonce))).scalar_one())


def _inventory(name: str) -> tuple[p.TargetReport, ...]:
    return (p.TargetReport(name=name, type="files", availability="ready"),)


async def test_replayed_poll_and_report_are_refused_and_change_nothing(home: Path) -> None:
    clock = SystemClock()
    async with console_client(home) as c:
        vault = read_master_key(c.settings.master_key_path)
        db = Database(c.settings.database_url)
        try:
            sim = await enroll_sim_agent(db, vault, "web1", auto_approve=True)
            spec = DeploymentSpec(
                definition_ref="web",
                server_name="web1",
                software="files",
                delivery="agent",
                agent_id=int(sim.agent_id),
            )
            dep_id = (await create_deployment(db, ADMIN, spec, clock)).id
            (first,) = await queue_installs(db, vault, ADMIN, [dep_id], clock)

            # a poll takes the package; sent again, it is refused and takes nothing new
            poll = p.work_path(0)
            poll_headers = _signed(sim, "GET", poll)
            assert await _send(c, "GET", poll, poll_headers, b"") == 200
            seen = await _nonces(db)
            other = (await create_deployment(db, ADMIN, spec, clock)).id
            await queue_installs(db, vault, ADMIN, [other], clock)
            assert await _send(c, "GET", poll, poll_headers, b"") == 403
            async with db.reader() as s:
                states = dict(
                    (await s.execute(select(AgentWork.deployment_id, AgentWork.state))).all()
                )
            assert states == {dep_id: "delivered", other: "queued"}
            assert await _nonces(db) == seen

            # a report installs the package and notes the inventory; a newer inventory follows
            report = p.encode(
                p.Report(
                    deployment_id=dep_id,
                    sequence=first.sequence,
                    ok=True,
                    target="files",
                    inventory=_inventory("old"),
                )
            )
            report_headers = _signed(sim, "POST", p.PATH_REPORT, report)
            assert await _send(c, "POST", p.PATH_REPORT, report_headers, report) == 200
            upload = p.encode(p.InventoryUpload(agent_version="1", targets=_inventory("new")))
            inventory_headers = _signed(sim, "POST", p.PATH_INVENTORY, upload)
            assert await _send(c, "POST", p.PATH_INVENTORY, inventory_headers, upload) == 200
            seen = await _nonces(db)

            # the report replayed: refused, and the newer inventory stays
            assert await _send(c, "POST", p.PATH_REPORT, report_headers, report) == 403
            async with db.reader() as s:
                agent = await s.get(Agent, int(sim.agent_id))
                dep = await s.get(Deployment, dep_id)
            assert agent is not None and [t["name"] for t in agent.targets] == ["new"]
            assert dep is not None and dep.status == "installed"
            assert await _nonces(db) == seen
        finally:
            await db.dispose()
