"""Waking long-polling agents: in-process events, plus PostgreSQL LISTEN/NOTIFY across replicas."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator

from sqlalchemy import text

from certmgr.controller.db.engine import Database

logger = logging.getLogger(__name__)
CHANNEL = "certmgr_agent_work"
AGENT_DB_AT_ONCE = 12
"""Agent requests using the database at one time (the pool holds 15 to 20 connections)."""
_REGISTRIES: weakref.WeakKeyDictionary[Database, AgentWakeups] = weakref.WeakKeyDictionary()


def wakeups_for(db: Database) -> AgentWakeups:
    """The one wake-up registry of ``db`` in this process (so services wake the server's waiters)."""
    found = _REGISTRIES.get(db)
    if found is None:
        found = _REGISTRIES[db] = AgentWakeups(db)
    return found


class AgentWakeups:
    """Wake-up hints only: the database is the truth, so a lost hint just costs one poll interval."""

    def __init__(self, db: Database) -> None:
        """Serve wake-ups for ``db``."""
        self._db = db
        self._events: dict[str, set[asyncio.Event]] = {}
        # Agent requests use the database through this gate (never while they wait): 10,000
        # agents polling in waves, or all woken by one install, would otherwise queue on the
        # connection pool, whose wait times out, ahead of the console's and the API's requests.
        self.gate = asyncio.Semaphore(AGENT_DB_AT_ONCE)
        self.draining = False  # the controller stops: long-polls answer now, agents reconnect
        self._listener: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def waiter(self, agent_id: str) -> AsyncIterator[asyncio.Event]:
        """An event that is set when work for ``agent_id`` appears."""
        ev = asyncio.Event()
        self._events.setdefault(agent_id, set()).add(ev)
        try:
            yield ev
        finally:
            waiters = self._events.get(agent_id)
            if waiters is not None:
                waiters.discard(ev)
                if not waiters:
                    del self._events[agent_id]

    def wake_local(self, agent_id: str) -> None:
        """Wake this process's waiters for ``agent_id``."""
        for ev in self._events.get(agent_id, ()):
            ev.set()

    def drain(self) -> int:
        """Wake every waiting long-poll for good (the controller stops); returns how many waited."""
        self.draining = True
        waiting = 0
        for events in self._events.values():
            for ev in events:
                ev.set()
                waiting += 1
        return waiting

    async def notify(self, *agent_ids: str) -> None:
        """Wake the agents' waiters here and, on PostgreSQL, in every replica (one statement)."""
        if not self._db.is_sqlite and agent_ids:
            # first: the waiters woken here take the pool's connections at once
            async with self._db.engine.begin() as conn:
                await conn.execute(
                    text("SELECT pg_notify(:c, a) FROM unnest(CAST(:ids AS text[])) AS a"),
                    {"c": CHANNEL, "ids": list(agent_ids)},
                )
        for agent_id in agent_ids:
            self.wake_local(agent_id)

    async def start(self) -> None:
        """Listen for other replicas' notifications (PostgreSQL only)."""
        if self._db.is_sqlite:
            return
        self._listener = asyncio.create_task(self._listen(), name="agent-wakeup-listener")

    async def stop(self) -> None:
        """Stop listening."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        import asyncpg

        url = self._db.engine.url.set(drivername="postgresql")
        backoff = 1.0
        while True:
            try:
                conn = await asyncpg.connect(url.render_as_string(hide_password=False))
                try:
                    closed = asyncio.Event()
                    conn.add_termination_listener(lambda *_a, ev=closed: ev.set())
                    await conn.add_listener(CHANNEL, lambda *_a: self.wake_local(str(_a[3])))
                    backoff = 1.0
                    await closed.wait()
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError) as err:
                logger.warning(
                    "agent wake-up listener lost PostgreSQL (%s); retrying", err.__class__.__name__
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
