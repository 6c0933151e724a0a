"""HTTP-01 answers through the database: the publishing process answers from memory, any other
controller on the same database from the table (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import delete

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AcmeChallenge
from certmgr.controller.services.acquisition.challenges import DbHttp01Solver, responder_app

TOKEN = "tok_" + "a1B2" * 8


async def _fetch(db: Database) -> tuple[int, str]:
    server = TestServer(responder_app(db), host="127.0.0.1")
    await server.start_server()
    try:
        async with (
            ClientSession() as http,
            http.get(server.make_url(f"/.well-known/acme-challenge/{TOKEN}")) as resp,
        ):
            return resp.status, await resp.text()
    finally:
        await server.close()


async def test_answers_here_from_memory_and_elsewhere_from_the_table(
    db: Database, database_url: str
) -> None:
    other = await asyncio.to_thread(Database, database_url)  # another controller's process
    try:
        solver = DbHttp01Solver(db)
        await solver.prepare("a.certmgr.test", "http-01", TOKEN, "TOKEN.thumbprint")
        assert await _fetch(db) == (200, "TOKEN.thumbprint")
        assert await _fetch(other) == (200, "TOKEN.thumbprint")  # read from the table
        async with db.transaction() as s:  # the row gone: only the publisher still knows it
            await s.execute(delete(AcmeChallenge).where(AcmeChallenge.token == TOKEN))
        assert await _fetch(db) == (200, "TOKEN.thumbprint")
        assert (await _fetch(other))[0] == 404
        await solver.prepare("a.certmgr.test", "http-01", TOKEN, "TOKEN.thumbprint")
        await solver.cleanup("a.certmgr.test", "http-01", TOKEN, "TOKEN.thumbprint")
        assert (await _fetch(db))[0] == 404
        assert (await _fetch(other))[0] == 404
    finally:
        await other.dispose()
