"""Issue 17 item 5: two `certmgr serve` processes on one PostgreSQL share notification delivery.

Forty webhook calls are queued; the receiving server (loopback) takes a moment per call. The
outbox job is made due once; both controllers claim batches of it, and every call arrives
exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import OutboxMessage, WorkBatch
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.scheduler import leases
from certmgr.controller.services.notification.outbox import enqueue_webhooks
from certmgr.controller.services.notification.webhooks import add_webhook
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import SystemClock
from tests.factories.controller_proc import Controller, shared_pg_home, wait_job_registered
from tests.factories.postgres import free_port
from tests.factories.waiting import async_wait_for

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")
CALLS = 40


async def test_two_controllers_deliver_each_message_once(tmp_path: Path, postgres_dsn: str) -> None:
    received: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        await asyncio.sleep(2)  # a receiver that takes its time: the run outlasts a claim poll
        received.append(int(json.loads(await request.read())["id"]))
        return web.Response(status=204)

    sink = web.Application()
    sink.router.add_post("/hook", hook)
    server = TestServer(sink, host="127.0.0.1")
    await server.start_server()
    home, url = await shared_pg_home(tmp_path, postgres_dsn, "tick_seconds = 0.2\nbatch_size = 4")
    settings = await asyncio.to_thread(load_settings, home)
    vault = await asyncio.to_thread(read_master_key, settings.master_key_path)
    db = Database(url)
    clock = SystemClock()
    await add_webhook(db, vault, ADMIN, str(server.make_url("/hook")), clock)
    async with db.transaction() as s:
        for n in range(CALLS):
            await enqueue_webhooks(s, "finding.opened", {"n": n}, clock.now())
    async with db.reader() as s:
        ids = list((await s.execute(select(OutboxMessage.id))).scalars())
    assert len(ids) == CALLS
    procs = [
        Controller(home, free_port(), tmp_path / f"serve{n}.log", listen=True) for n in range(2)
    ]
    try:
        for c in procs:
            await asyncio.to_thread(c.start)
        await wait_job_registered(db, "outbox")
        await leases.reschedule(db, "outbox", dt.datetime.now(dt.UTC))

        async def delivered() -> bool:
            async with db.reader() as s:
                states = Counter((await s.execute(select(OutboxMessage.state))).scalars())
            return states == {"sent": CALLS}

        await async_wait_for(delivered, timeout=120, interval=0.1, what="every message sent")
        async with db.reader() as s:
            batches = list(
                (await s.execute(select(WorkBatch).where(WorkBatch.job == "outbox"))).scalars()
            )
        assert Counter(received) == Counter(ids)  # each call arrived exactly once
        assert len({b.done_by for b in batches}) == 2, [b.done_by for b in batches]
    finally:
        for c in procs:
            await asyncio.to_thread(c.stop)
        await db.dispose()
        await server.close()
    for c in procs:
        assert "Traceback" not in c.log.read_text(), c.log.read_text()
