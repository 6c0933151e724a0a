"""SQLite's one-call-per-statement driver: results, RETURNING, executemany, errors, streaming,
and one hand-off to aiosqlite's thread per statement."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import aiosqlite
import pytest
from sqlalchemy import CursorResult, text
from sqlalchemy.exc import IntegrityError

from certmgr.controller.db.engine import Database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Any:
    db = await asyncio.to_thread(Database, f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    async with db.transaction() as s:
        await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield db
    await db.dispose()


async def test_statements_results_and_errors(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as s:
        new_id = (
            await s.execute(text("INSERT INTO t (name) VALUES ('a') RETURNING id"))
        ).scalar_one()
        many = await s.execute(
            text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}, {"n": "d"}]
        )
        assert cast(CursorResult[Any], many).rowcount == 3
        changed = await s.execute(text("UPDATE t SET name = name || '!' WHERE id > :i"), {"i": 1})
        assert cast(CursorResult[Any], changed).rowcount == 3
    async with sqlite_db.reader() as s:
        rows = (await s.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(new_id, "a"), (2, "b!"), (3, "c!"), (4, "d!")]
        streamed = [r.name async for r in await s.stream(text("SELECT name FROM t ORDER BY id"))]
        assert streamed == ["a", "b!", "c!", "d!"]
    with pytest.raises(IntegrityError):
        async with sqlite_db.transaction() as s:
            await s.execute(text("INSERT INTO t (name) VALUES ('a')"))
    async with sqlite_db.reader() as s:  # the failed transaction left nothing behind
        assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 4


async def _insert_twice(db: Database, name: str) -> None:
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})
        await s.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})


async def test_one_thread_call_per_statement(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sqlite_db.reader() as s:  # a pooled connection exists before counting
        await s.execute(text("SELECT 1"))
    calls: list[object] = []
    queued: Callable[..., Awaitable[Any]] = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(fn)
        return await queued(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    async with sqlite_db.reader() as s:  # no transaction opens: no commit, no rollback
        for i in range(10):
            assert (await s.execute(text("SELECT :i"), {"i": i})).scalar_one() == i
    assert len(calls) == 10
    async with sqlite_db.transaction() as s:  # the insert and the commit
        await s.execute(text("INSERT INTO t (name) VALUES ('x')"))
    assert len(calls) == 12
    async with sqlite_db.reader() as s:
        assert (await s.execute(text("SELECT name FROM t"))).scalar_one() == "x"
    with pytest.raises(IntegrityError):  # the insert, the failing insert, the rollback
        await _insert_twice(sqlite_db, "y")
    assert len(calls) == 16
    async with sqlite_db.reader() as s:
        assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
