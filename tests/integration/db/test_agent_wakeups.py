"""Agent wake-ups: in one process, and across replicas through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from certmgr.controller.db.engine import Database
from certmgr.controller.services.agents.wakeups import AgentWakeups
from tests.factories.postgres import create_database


async def _listening(wakeups: AgentWakeups, db: Database) -> None:
    """Start ``wakeups`` and wait (bounded) until its LISTEN is registered on the server."""
    from sqlalchemy import text

    await wakeups.start()
    for _ in range(200):
        async with db.engine.connect() as conn:
            n = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                    )
                )
            ).scalar_one()
        if n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the wake-up listener never issued LISTEN")


async def test_wakeup_in_one_process(db: Any) -> None:
    wakeups = AgentWakeups(db)
    await wakeups.start()
    try:
        async with wakeups.waiter("agent-1") as ev, wakeups.waiter("agent-2") as other:
            await wakeups.notify("agent-1")
            await asyncio.wait_for(ev.wait(), 5)
            assert not other.is_set()
    finally:
        await wakeups.stop()


@pytest.fixture
def pg_url(postgres_dsn: str) -> str:
    return create_database(postgres_dsn, "t_" + uuid.uuid4().hex[:16])


async def test_wakeup_crosses_replicas_on_postgres(pg_url: str) -> None:
    url = pg_url
    one, two = Database(url), Database(url)
    await one.upgrade()
    a, b = AgentWakeups(one), AgentWakeups(two)
    try:
        await _listening(b, two)
        async with b.waiter("agent-7") as ev, b.waiter("agent-8") as other:
            await a.notify("agent-7")  # replica A gets work for an agent long-polling on B
            await asyncio.wait_for(ev.wait(), 10)
            assert not other.is_set()
        # many agents in one statement (a bulk install): each one's waiter on B wakes
        async with (
            b.waiter("agent-7") as seven,
            b.waiter("agent-8") as eight,
            b.waiter("agent-9") as nine,
        ):
            await a.notify("agent-7", "agent-8")
            await asyncio.wait_for(asyncio.gather(seven.wait(), eight.wait()), 10)
            assert not nine.is_set()
    finally:
        await b.stop()
        await one.dispose()
        await two.dispose()
