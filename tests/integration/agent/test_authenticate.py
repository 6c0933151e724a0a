"""The controller's check of a signed agent request: each nonce once, and the agent's last contact noted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from certmgr.controller.db.models import Agent, AgentNonce
from certmgr.controller.services.agents.enrolment import authenticate
from certmgr.shared import protocol as p
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import PermissionDeniedError
from tests.factories.sim_agents import enroll_sim_agent


async def test_a_request_is_accepted_once_and_notes_the_agent_seen(db: Any, vault: Any) -> None:
    sim = await enroll_sim_agent(db, vault, "host1", auto_approve=True)
    clock = SystemClock()
    path = p.work_path(0)
    headers = p.sign_request(sim.key, sim.agent_id, "GET", path, b"", clock.now(), p.new_nonce())

    agent = await authenticate(db, headers, "GET", path, b"", clock)
    assert agent.id == int(sim.agent_id)
    async with db.reader() as s:
        seen = (await s.get(Agent, agent.id)).last_seen_at
        nonces = (
            (await s.execute(select(AgentNonce.nonce).where(AgentNonce.agent_id == agent.id)))
            .scalars()
            .all()
        )
    assert seen is not None
    assert abs(seen.replace(tzinfo=dt.UTC) - clock.now()) < dt.timedelta(minutes=1)
    assert len(nonces) == 1

    with pytest.raises(PermissionDeniedError, match="replayed"):
        await authenticate(db, headers, "GET", path, b"", clock)
    other = p.sign_request(sim.key, sim.agent_id, "GET", path, b"", clock.now(), p.new_nonce())
    assert (await authenticate(db, other, "GET", path, b"", clock)).id == agent.id


async def test_last_contact_is_written_once_a_minute_at_most(db: Any, vault: Any) -> None:
    sim = await enroll_sim_agent(db, vault, "host2", auto_approve=True)
    clock = SystemClock()
    path = p.work_path(0)
    long_ago = clock.now() - dt.timedelta(hours=1)
    async with db.transaction() as s:
        (await s.get(Agent, int(sim.agent_id))).last_seen_at = long_ago

    async def poll_and_read_seen() -> dt.datetime:
        nonce = p.new_nonce()
        headers = p.sign_request(sim.key, sim.agent_id, "GET", path, b"", clock.now(), nonce)
        await authenticate(db, headers, "GET", path, b"", clock)
        async with db.reader() as s:
            seen: dt.datetime = (await s.get(Agent, int(sim.agent_id))).last_seen_at
        return seen.replace(tzinfo=dt.UTC)

    first = await poll_and_read_seen()
    assert first - long_ago > dt.timedelta(minutes=59)  # an hour-old contact is brought up to date
    assert await poll_and_read_seen() == first  # a second poll within the minute writes nothing
