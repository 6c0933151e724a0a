"""Migrations: empty -> head -> base -> head on both databases, and the models match the schema."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from certmgr.controller.db.engine import Database, alembic_config
from certmgr.controller.db.models import all_tables_metadata


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    # Alembic is synchronous (run_sync runs it on the calling loop): the whole check runs on a
    # loop of its own in a worker thread, so the test's loop is never held
    await asyncio.to_thread(asyncio.run, _upgrade_downgrade_upgrade(database_url))


async def _upgrade_downgrade_upgrade(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.upgrade()
        head = await db.current_revision()
        assert head is not None
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        assert await db.current_revision() is None
        await db.upgrade()
        assert await db.current_revision() == head
        await db.check_ready()

        def diff(conn: Any) -> list[Any]:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            return [
                d
                for d in compare_metadata(ctx, all_tables_metadata())
                if not (isinstance(d, tuple) and d[0] in ("remove_index", "add_index"))
            ]

        async with db.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await db.dispose()
