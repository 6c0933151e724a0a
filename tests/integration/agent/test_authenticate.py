"""The controller's check of a signed agent request: each nonce once, and the agent's last contact noted."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AgentNonce
from certmgr.controller.services.agents.enrolment import authenticate
from certmgr.controller.services.agents.nonces import nonce_ledger
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


async def test_concurrent_requests_share_one_transaction_and_a_replay_among_them_is_refused(
    db: Any, vault: Any
) -> None:
    sims = [await enroll_sim_agent(db, vault, f"fleet{i}", auto_approve=True) for i in range(4)]
    clock = SystemClock()
    path = p.work_path(0)
    requests = [
        p.sign_request(sim.key, sim.agent_id, "GET", path, b"", clock.now(), p.new_nonce())
        for sim in sims
        for _ in range(10)
    ]
    ledger = nonce_ledger(db)
    before = ledger.batches

    # the same request twice among forty others arriving at once
    results = await asyncio.gather(
        *(authenticate(db, h, "GET", path, b"", clock) for h in [*requests, requests[7]]),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], PermissionDeniedError)
    assert "replayed" in str(refused[0])
    assert sorted(r.id for r in results if isinstance(r, Agent)) == sorted(
        int(sim.agent_id) for sim in sims for _ in range(10)
    )
    assert ledger.batches - before < len(requests)  # group-committed: fewer transactions
    async with db.reader() as s:
        stored = (await s.execute(select(AgentNonce.nonce))).scalars().all()
    assert len(stored) == len(set(stored)) == len(requests)

    # every one of them is a replay afterwards, whichever batch it was written in
    for h in (requests[0], requests[7], requests[-1]):
        with pytest.raises(PermissionDeniedError, match="replayed"):
            await authenticate(db, h, "GET", path, b"", clock)


async def test_nonces_arriving_together_are_written_in_one_batch(db: Any, vault: Any) -> None:
    sim = await enroll_sim_agent(db, vault, "batch", auto_approve=True)
    ledger = nonce_ledger(db)
    before = ledger.batches
    now = SystemClock().now()
    nonces = [p.new_nonce() for _ in range(50)]
    fresh = await asyncio.gather(*(ledger.record(int(sim.agent_id), n, now) for n in nonces))
    assert fresh == [True] * 50
    assert ledger.batches - before == 1
    # seen before: told apart by the database's key, in a later batch
    assert (
        await asyncio.gather(*(ledger.record(int(sim.agent_id), n, now) for n in nonces[:3]))
        == [False] * 3
    )


async def test_controllers_sharing_the_database_accept_each_nonce_once(
    db: Any, database_url: str, vault: Any
) -> None:
    sim = await enroll_sim_agent(db, vault, "shared", auto_approve=True)
    other = await asyncio.to_thread(Database, database_url)  # a second controller's own engine
    try:
        clock = SystemClock()
        path = p.work_path(0)
        requests = [
            p.sign_request(sim.key, sim.agent_id, "GET", path, b"", clock.now(), p.new_nonce())
            for _ in range(20)
        ]
        # each request sent to both controllers at once: one of the two accepts it
        results = await asyncio.gather(
            *(
                authenticate(controller, h, "GET", path, b"", clock)
                for h in requests
                for controller in (db, other)
            ),
            return_exceptions=True,
        )
        for pair in zip(results[::2], results[1::2], strict=True):
            accepted = [r for r in pair if isinstance(r, Agent)]
            refused = [r for r in pair if isinstance(r, PermissionDeniedError)]
            assert len(accepted) == len(refused) == 1, pair
            assert "replayed" in str(refused[0])
    finally:
        await other.dispose()
