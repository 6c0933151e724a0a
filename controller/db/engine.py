"""The async engine, sessions and migrations."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from certmgr.controller.db._sqlite_driver import sqlite_dbapi
from certmgr.shared.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS = Path(__file__).with_name("migrations")


class Database:
    """Owns the engine; hands out sessions. Create once per process, ``await dispose()`` at the end."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        """Create the engine (lazy: no connection is made yet)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            if url.startswith("sqlite+aiosqlite"):
                kwargs["module"] = sqlite_dbapi()  # one thread call per statement
            if not _in_memory(url):
                # kept open, not made per request: an aiosqlite connection is a new thread, a
                # connect and the pragmas (agent requests use up to 12 at once, deploy checks more)
                kwargs["pool_size"] = 2 * pool_size
            _create_private_sqlite_file(url)
        else:
            kwargs["pool_size"] = pool_size
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            _ping_when_idle(self.engine, self)
        self.ping_after_idle = PING_AFTER_IDLE
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite allows one writer; serialise our own writers instead of waiting on busy locks.
        self.write_lock = asyncio.Lock() if self.is_sqlite else None

    def session(self) -> AsyncSession:
        """A new session (use ``async with db.session() as s, s.begin():``)."""
        return self._sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction; commits on success, rolls back on any error."""
        if self.write_lock is not None:
            async with self.write_lock, self._sessions() as s, s.begin():
                yield s
        else:
            async with self._sessions() as s, s.begin():
                yield s

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only."""
        async with self._sessions() as s, s.begin():
            yield s

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration.

        Raises:
            ConfigurationError: The database cannot be reached or migrated.
        """
        try:
            if _in_memory(self.url):  # only this engine's connection sees the database
                async with self.engine.begin() as conn:
                    await conn.run_sync(_upgrade)
            else:
                # Alembic loads and runs every migration script: seconds of Python on a loaded
                # host, so it runs on its own loop in a thread, never on the caller's loop.
                await asyncio.to_thread(asyncio.run, _upgrade_with_own_engine(self.url))
        except (SQLAlchemyError, OSError) as err:
            raise ConfigurationError(f"cannot migrate the database: {_safe_db_error(err)}") from err

    async def current_revision(self) -> str | None:
        """The schema revision the database is at (None: empty)."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(_stamped_revision)

    async def check_ready(self) -> None:
        """Raise unless the schema is at the newest migration.

        Raises:
            ConfigurationError: Unreachable or out-of-date database.
        """
        try:
            rev = await self.current_revision()
        except (SQLAlchemyError, OSError) as err:
            raise ConfigurationError(f"cannot open the database: {_safe_db_error(err)}") from err
        head = await asyncio.to_thread(_head_revision)  # reads every migration script
        if rev != head:
            raise ConfigurationError(
                f"database schema is at {rev!r}, expected {head!r}: run 'certmgr db upgrade'"
            )


PING_AFTER_IDLE = 2.0
"""Seconds a pooled PostgreSQL connection may rest before it is pinged when taken from the pool."""


def _ping_when_idle(engine: AsyncEngine, db: Database) -> None:
    """Ping a pooled connection at checkout only when it rested more than ``db.ping_after_idle`` s.

    A ping on every checkout (``pool_pre_ping``) was a seventh of a busy controller's event loop.
    A connection the server dropped (a restart, an idle timeout) is found by the ping after a
    rest, and replaced; one dropped within the last seconds of its use fails its next statement,
    which invalidates the pool as a ping would have.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checkin(_dbapi: Any, record: ConnectionPoolEntry) -> None:
        record.info["rested_since"] = time.monotonic()

    def checkout(dbapi: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.pop("rested_since", None)
        if since is None or time.monotonic() - since < db.ping_after_idle:
            return  # new, or in use moments ago
        try:
            dialect.do_ping(dbapi)
        except Exception as err:  # noqa: BLE001 - any failure: the pool replaces the connection
            raise DisconnectionError(_safe_db_error(err)) from err

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


def _safe_db_error(err: BaseException) -> str:
    # Never echo a DSN (it may carry a password); the driver's first line is enough.
    text = (
        str(getattr(err, "orig", None) or err).splitlines()[0]
        if str(err)
        else err.__class__.__name__
    )
    return text[:300]


def _stamped_revision(c: Connection) -> str | None:
    # what Alembic's MigrationContext reads, without loading Alembic (every command asks this)
    if not inspect(c).has_table("alembic_version"):
        return None
    row = c.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else None


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at our migrations (optionally bound to a connection)."""
    # lazy: Alembic loads ~0.3 s of modules that only migrations need, not every command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(conn: Connection) -> None:
    # lazy: Alembic loads ~0.3 s of modules that only migrations need, not every command
    from alembic import command

    command.upgrade(alembic_config(conn), "head")


async def _upgrade_with_own_engine(url: str) -> None:
    db = Database(url, pool_size=1)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_upgrade)
    finally:
        await db.dispose()


_REVISION = re.compile(r'^revision: str = "([^"]+)"$', re.M)
_DOWN = re.compile(r'^down_revision: [^=]+= "([^"]+)"$', re.M)


def _head_revision() -> str | None:
    """The newest migration: the one revision no other migration builds on (one linear chain)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        body = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(body))
        downs.update(_DOWN.findall(body))
    heads = revisions - downs
    if len(heads) != 1:
        raise ConfigurationError(f"the migrations have {len(heads)} heads, expected one")
    return heads.pop()


def _in_memory(url: str) -> bool:
    name = make_url(url).database
    return url.startswith("sqlite") and (not name or name == ":memory:" or "mode=memory" in name)


def _create_private_sqlite_file(url: str) -> None:
    """Create a new SQLite file 0600 before SQLite does (SQLite gives its -wal/-shm the same mode)."""
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # e.g. a missing folder: SQLite's own error says it better when it connects
    os.close(fd)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
