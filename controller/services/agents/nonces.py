"""Signed agent requests' nonces: many requests' nonces recorded in one transaction (group commit).

Every signed agent request carries a nonce the controller must not have seen from that agent
before. Recording one nonce per request in a transaction of its own made each idle long-poll a
write, and on SQLite, whose writers take turns, ten thousand polling agents filled the one write
turn on their own: reports and deploy checks queued behind idle polls.

Here the requests waiting at one moment are written together: one ``INSERT ... ON CONFLICT DO
NOTHING RETURNING`` of all their nonces (and one ``UPDATE`` of the agents' last contact), in one
transaction. The rows it returns are the nonces that were new; a request whose nonce is not among
them is a replay. The database's unique key stays the only judge, so replays are refused across
batches, restarts and controllers sharing PostgreSQL; two copies of one nonce in the same batch
are told apart before the statement (the first is written, the second refused).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AgentNonce
from certmgr.shared import protocol as p

MAX_BATCH = 500
"""Nonces written by one statement (three parameters each: well inside both databases' limits)."""
KEEP = dt.timedelta(seconds=4 * p.DEFAULT_MAX_SKEW)
"""Nonces older than this are deleted: a request that old is refused for its timestamp anyway."""
PURGE_EVERY = 60.0
"""Seconds between two deletions of old nonces by one controller."""

logger = logging.getLogger(__name__)
_Key = tuple[int, str]
_LEDGERS: weakref.WeakKeyDictionary[Database, NonceLedger] = weakref.WeakKeyDictionary()


def nonce_ledger(db: Database) -> NonceLedger:
    """The one nonce ledger of ``db`` in this process (so concurrent requests share its batches)."""
    found = _LEDGERS.get(db)
    if found is None:
        found = _LEDGERS[db] = NonceLedger(db)
    return found


@dataclass
class _Entry:
    agent_id: int
    nonce: str
    at: dt.datetime
    note_seen: bool
    done: asyncio.Future[bool]


class NonceLedger:
    """Records nonces for concurrent requests in shared transactions; tells each whether its was new."""

    def __init__(self, db: Database) -> None:
        """Record nonces in ``db``."""
        self._db = db
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[_Key, _Entry] = {}
        self._writer: asyncio.Task[None] | None = None
        self._purged_at = time.monotonic()
        self.batches = 0
        """Transactions written so far (for tests and benchmarks)."""

    async def record(
        self, agent_id: int, nonce: str, at: dt.datetime, *, note_seen: bool = False
    ) -> bool:
        """Record the agent's nonce; True when it is new, False when it was seen before (a replay).

        ``note_seen`` also sets the agent's last contact to ``at`` (in the same transaction, and
        only when the nonce is new).

        Raises:
            SQLAlchemyError: The batch could not be written (every request in it gets the error).
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing of the old one carries over
            self._loop, self._waiting, self._writer = loop, {}, None
        key = (agent_id, nonce)
        if key in self._waiting:
            return False  # the same nonce twice in one batch: the second copy is the replay
        entry = _Entry(agent_id, nonce, at, note_seen, loop.create_future())
        self._waiting[key] = entry
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_all(), name="agent nonce writer")
        return await entry.done

    async def _write_all(self) -> None:
        """Write the waiting nonces batch by batch (those arriving meanwhile form the next batch)."""
        while self._waiting:
            keys = list(self._waiting)[:MAX_BATCH]
            batch = [self._waiting.pop(k) for k in keys]
            try:
                try:
                    fresh = await self._write(batch)
                except IntegrityError:
                    # not a replay (ON CONFLICT takes those): e.g. an agent deleted meanwhile.
                    # Each on its own, so one bad row does not refuse the others.
                    fresh = set()
                    for entry in batch:
                        try:
                            fresh |= await self._write([entry])
                        except IntegrityError as err:
                            _fail(entry, err)
                for entry in batch:
                    if not entry.done.done():
                        entry.done.set_result((entry.agent_id, entry.nonce) in fresh)
            except Exception as err:  # noqa: BLE001 - handed to every request of the batch
                for entry in batch:
                    _fail(entry, err)
            finally:
                for entry in batch:  # the writer was cancelled (shutdown): nobody waits forever
                    if not entry.done.done():
                        entry.done.cancel()
            if time.monotonic() - self._purged_at >= PURGE_EVERY:
                self._purged_at = time.monotonic()
                await self._purge(max(e.at for e in batch))

    async def _write(self, batch: list[_Entry]) -> set[_Key]:
        """One transaction: insert the batch's nonces, note last contacts; the nonces that were new."""
        # sorted: two controllers writing overlapping batches take the key locks in one order
        rows = sorted(
            ({"agent_id": e.agent_id, "nonce": e.nonce, "at": e.at} for e in batch),
            key=lambda r: (r["agent_id"], r["nonce"]),
        )
        insert: Any = sqlite_insert if self._db.is_sqlite else pg_insert
        stmt = (
            insert(AgentNonce)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["agent_id", "nonce"])
            .returning(AgentNonce.agent_id, AgentNonce.nonce)
        )
        async with self._db.transaction() as s:
            fresh: set[_Key] = {(int(a), str(n)) for a, n in (await s.execute(stmt)).all()}
            seen = [e for e in batch if e.note_seen and (e.agent_id, e.nonce) in fresh]
            if seen:
                await s.execute(
                    update(Agent)
                    .where(Agent.id.in_(sorted({e.agent_id for e in seen})))
                    .values(last_seen_at=max(e.at for e in seen))
                    .execution_options(synchronize_session=False)
                )
        self.batches += 1
        return fresh

    async def _purge(self, now: dt.datetime) -> None:
        try:
            async with self._db.transaction() as s:
                await s.execute(delete(AgentNonce).where(AgentNonce.at < now - KEEP))
        except SQLAlchemyError as err:  # the next purge tries again; requests go on meanwhile
            logger.warning("could not delete old agent nonces: %s", err.__class__.__name__)


def _fail(entry: _Entry, err: BaseException) -> None:
    if not entry.done.done():
        entry.done.set_exception(err)
