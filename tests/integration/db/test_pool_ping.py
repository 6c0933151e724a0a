"""PostgreSQL: a pooled connection the server dropped is found and replaced (pinged after a rest only)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from certmgr.controller.db.engine import PING_AFTER_IDLE, Database
from tests.factories.postgres import create_database


async def _drop_pooled_connections(db: Database, admin: Database) -> None:
    """The server ends every connection of ``db``'s database but the admin's own."""
    async with admin.engine.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert db is not admin


async def _one(db: Database) -> int:
    async with db.reader() as s:
        return int((await s.execute(text("SELECT 1"))).scalar_one())


@pytest.fixture
def pg_url(postgres_dsn: str) -> str:
    return create_database(postgres_dsn, "t_" + uuid.uuid4().hex[:16])


@pytest.fixture
async def dbs(pg_url: str) -> AsyncIterator[tuple[Database, Database]]:
    db, admin = Database(pg_url, pool_size=2), Database(pg_url, pool_size=1)
    yield db, admin
    await db.dispose()
    await admin.dispose()


async def test_a_dropped_connection_that_rested_is_replaced_before_use(
    dbs: tuple[Database, Database],
) -> None:
    db, admin = dbs
    assert PING_AFTER_IDLE <= 5  # a connection at rest for longer is pinged
    assert await _one(db) == 1  # a connection now rests in the pool
    await _drop_pooled_connections(db, admin)
    db.ping_after_idle = 0.0  # it has rested "long enough": the checkout pings it
    assert await _one(db) == 1  # the ping failed, the pool made a new connection


async def test_a_dropped_connection_used_moments_ago_fails_once_then_the_pool_recovers(
    dbs: tuple[Database, Database],
) -> None:
    db, admin = dbs
    assert await _one(db) == 1
    await _drop_pooled_connections(db, admin)
    db.ping_after_idle = 3600.0  # used "moments ago": no ping, its next statement finds it dropped
    with pytest.raises(DBAPIError):
        await _one(db)
    assert await _one(db) == 1  # the disconnect invalidated the pool: the next request works
