"""SQLite through aiosqlite with one thread call per statement instead of four.

SQLAlchemy's aiosqlite adapter makes a cursor, executes, fetches and closes the cursor as four
calls on aiosqlite's connection thread; each call is a queue hand-off and a wake-up of the event
loop (about 50 µs of CPU, and on a busy machine a scheduling delay, all while a writer holds the
database). Here a statement runs as one call: the cursor is made, executed, read to the end and
closed on the connection's thread, and the rows, ``description``, ``rowcount`` and ``lastrowid``
come back together; a commit or rollback with no transaction open (readers, the pool's reset
after a commit) makes no call at all. Server-side cursors (``stream()``) keep aiosqlite's own
cursor.

Pass :func:`sqlite_dbapi` as ``module=`` to ``create_async_engine`` for a ``sqlite+aiosqlite``
URL; errors are sqlite3's, as with the stock adapter.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Result = tuple[list[Any], Any, int, int | None]


def _on_thread(conn: aiosqlite.Connection, fn: Callable[[], _Result]) -> Awaitable[_Result]:
    """Run ``fn`` on the connection's own thread (aiosqlite's queue: one hand-off)."""
    execute = cast(Callable[[Callable[[], _Result]], Awaitable[_Result]], conn._execute)  # noqa: SLF001
    return execute(fn)


class _OneCallCursor:
    """Stands in for an aiosqlite cursor: each execute is one call on the connection's thread."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> _OneCallCursor:
        return self

    async def execute(self, sql: str, parameters: Any = None) -> _OneCallCursor:
        conn = self._connection

        def run() -> _Result:
            cursor = conn._conn.cursor()  # noqa: SLF001 - the sqlite3 connection, on its thread
            try:
                if parameters is None:
                    cursor.execute(sql)
                else:
                    cursor.execute(sql, parameters)
                rows = cursor.fetchall() if cursor.description else []
                return rows, cursor.description, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        result = await _on_thread(conn, run)
        self._rows, self.description, self.rowcount, self.lastrowid = result
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> _OneCallCursor:
        conn = self._connection

        def run() -> _Result:
            cursor = conn._conn.cursor()  # noqa: SLF001
            try:
                cursor.executemany(sql, parameters)
                rows = cursor.fetchall() if cursor.description else []
                return rows, cursor.description, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        result = await _on_thread(conn, run)
        self._rows, self.description, self.rowcount, self.lastrowid = result
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _make_new_cursor(self, connection: Any) -> Any:
        return _OneCallCursor(connection)

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _Cursor

    def _idle(self) -> bool:
        # sqlite3 opens a transaction at the first write; until then (a reader, or the pool's
        # reset after a commit) commit and rollback do nothing and need no thread call
        raw = self._connection._connection  # noqa: SLF001 - the sqlite3 connection or None
        return raw is not None and not raw.in_transaction

    def commit(self) -> None:
        if not self._idle():
            super().commit()

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        creator_fn = kw.pop("async_creator_fn", None)
        connection = creator_fn(*arg, **kw) if creator_fn else aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # noqa: SLF001 - as SQLAlchemy's own adapter does
        return _Connection(self, await_(connection))


def sqlite_dbapi() -> Any:
    """The DBAPI module object for ``create_async_engine(..., module=...)``."""
    return _Dbapi(aiosqlite, sqlite3)
