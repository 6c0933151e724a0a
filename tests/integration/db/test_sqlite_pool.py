"""SQLite connections are kept open for the agent API's concurrency, not made per request."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from certmgr.controller.db.engine import Database
from certmgr.controller.services.agents.wakeups import AGENT_DB_AT_ONCE


async def test_as_many_connections_as_agent_requests_use_stay_open(tmp_path: Path) -> None:
    db = await asyncio.to_thread(Database, f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    try:
        started = asyncio.Event()
        release = asyncio.Event()
        busy = 0

        async def reader() -> None:
            nonlocal busy
            async with db.reader() as s:
                await s.execute(text("SELECT 1"))
                busy += 1
                if busy == AGENT_DB_AT_ONCE + 2:
                    started.set()
                await release.wait()

        tasks = [asyncio.create_task(reader()) for _ in range(AGENT_DB_AT_ONCE + 2)]
        await asyncio.wait_for(started.wait(), 60)
        release.set()
        await asyncio.gather(*tasks)
        # every one of them went back to the pool (an overflow connection would be closed:
        # a new thread, connect and pragmas for the next request)
        assert db.engine.pool.checkedin() == AGENT_DB_AT_ONCE + 2  # type: ignore[attr-defined]
    finally:
        await db.dispose()
