"""Issue 17 item 6: /readyz beside /healthz, and a clean stop on SIGTERM that hands work back."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from certmgr.controller.appkeys import AGENT_WAKEUPS, DB, SCHEDULER, VAULT
from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CheckResult, WorkBatch
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.scheduler import leases
from certmgr.controller.server import drain
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.services.monitoring.config import MonitorConfig, save_monitor_config
from certmgr.shared import protocol as p
from certmgr.shared.clock import SystemClock
from tests.factories.console import console_client
from tests.factories.controller_proc import (
    Controller,
    shared_pg_home,
    wait_job_finished,
    wait_job_registered,
)
from tests.factories.homes import amake_home, make_home
from tests.factories.postgres import free_port
from tests.factories.sim_agents import enroll_sim_agent
from tests.factories.waiting import async_wait_for

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")


async def test_readyz_reports_each_check_and_turns_503_when_stopping(
    tmp_path: Path, database_url: str
) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as console:
        client = console.client
        resp = await client.get("/readyz")
        body = await resp.json()
        assert resp.status == 200, body
        assert body == {
            "status": "ready",
            "checks": {
                "database": "ok",
                "migrations": "ok",
                "scheduler": "ok",
                "accepting": "ok",
            },
        }
        assert (await client.get("/healthz")).status == 200
        app = client.app
        assert app is not None
        await drain(app)
        resp = await client.get("/readyz")
        body = await resp.json()
        assert resp.status == 503
        assert body["status"] == "not ready"
        assert body["checks"]["accepting"] == "stopping"
        assert body["checks"]["scheduler"] == "not running"
        assert not app[SCHEDULER].alive()


async def test_readyz_names_a_schema_behind_the_code(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as console:
        app = console.client.app
        assert app is not None
        db = app[DB]
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        resp = await console.client.get("/readyz")
        body = await resp.json()
        assert resp.status == 503
        assert body["checks"]["database"] == "ok"
        assert "0001" in body["checks"]["migrations"]
        assert "certmgr db upgrade" in body["checks"]["migrations"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback listener that completes TCP handshakes (kernel backlog) and never says a word."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    yield int(s.getsockname()[1])
    s.close()


async def test_sigterm_hands_back_the_running_batch(
    tmp_path: Path, postgres_dsn: str, silent_port: int
) -> None:
    home, url = await shared_pg_home(
        tmp_path, postgres_dsn, "tick_seconds = 0.2\nbatch_size = 4\nbatch_lease_seconds = 60"
    )
    db = Database(url)
    clock = SystemClock()
    await save_monitor_config(db, ADMIN, MonitorConfig(concurrency=2, probe_timeout=2), clock)
    ids = []
    for n in range(12):
        spec = DeploymentSpec(
            definition_ref="certmgr console",
            server_name=f"web{n}.example.test",
            check_host="127.0.0.1",
            check_port=silent_port,
            sni="localhost",
        )
        ids.append((await create_deployment(db, ADMIN, spec, clock)).id)
    first = Controller(home, free_port(), tmp_path / "first.log", listen=True)
    second = Controller(home, free_port(), tmp_path / "second.log", listen=True)
    try:
        await asyncio.to_thread(first.start)
        assert first.proc is not None
        pid = first.proc.pid
        await wait_job_registered(db, "monitoring")
        start = dt.datetime.now(dt.UTC)
        await leases.reschedule(db, "monitoring", start)

        async def holds_a_batch() -> bool:
            async with db.reader() as s:
                held = (
                    await s.execute(select(WorkBatch.holder).where(WorkBatch.state == "claimed"))
                ).scalars()
                return any(f":{pid}:" in h for h in held)

        await async_wait_for(holds_a_batch, timeout=30, interval=0.05, what="a claimed batch")
        os.kill(pid, signal.SIGTERM)
        code = await asyncio.to_thread(first.proc.wait, 60)
        first.proc = None
        assert code == 0, first.log.read_text()
        log = first.log.read_text()
        assert "handed back scheduled work" in log, log
        # nothing is left claimed by the stopped controller: the job and its batch are free now
        job = {j.name: j for j in await leases.all_jobs(db)}["monitoring"]
        assert (job.holder, job.lease_until, job.last_result) == ("", None, "interrupted")
        assert job.next_run_at is not None and job.next_run_at <= dt.datetime.now(dt.UTC)
        async with db.reader() as s:
            states = Counter((await s.execute(select(WorkBatch.state))).scalars())
        assert states["claimed"] == 0 and states["pending"] >= 1, states

        # another controller takes the round over and finishes it: each deployment checked once
        await asyncio.to_thread(second.start)
        await wait_job_finished(db, "monitoring", 0, timeout=90)
        async with db.reader() as s:
            checks = list(
                (
                    await s.execute(
                        select(CheckResult.deployment_id).where(
                            CheckResult.source == "monitor", CheckResult.at >= start
                        )
                    )
                ).scalars()
            )
        assert Counter(checks) == Counter(ids)
    finally:
        for c in (first, second):
            await asyncio.to_thread(c.stop)
        await db.dispose()
    for c in (first, second):
        assert "Traceback" not in c.log.read_text(), c.log.read_text()


def test_sigterm_stops_a_serving_controller_cleanly(tmp_path: Path) -> None:
    """SQLite, no shared work: SIGTERM ends `certmgr serve` with status 0 and says so, in JSON lines."""
    port = free_port()
    home = make_home(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", listen=f"127.0.0.1:{port}"
    )
    config = home / "config.toml"
    config.write_text(
        config.read_text().replace(
            'log_level = "INFO"\n', 'log_level = "INFO"\nlog_format = "json"\n'
        )
    )
    c = Controller(home, port, tmp_path / "serve.log")
    c.start()
    assert c.proc is not None
    c.proc.send_signal(signal.SIGTERM)
    try:
        assert c.proc.wait(60) == 0
    except subprocess.TimeoutExpired:
        c.proc.kill()
        raise
    log = c.log.read_text()
    assert "Traceback" not in log, log
    # log_format = "json": every log record is one JSON object (the banner is a plain print)
    records = [
        json.loads(line)
        for line in log.splitlines()
        if not line.startswith("certmgr console listening")
    ]
    assert records and all(set(r) >= {"time", "level", "logger", "message"} for r in records), log
    assert {
        "level": "INFO",
        "logger": "certmgr.controller.server",
        "message": "certmgr controller stopped",
    }.items() <= records[-1].items()


async def test_stopping_answers_waiting_long_polls_on_a_closing_connection(
    tmp_path: Path, database_url: str
) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as console:
        app = console.client.app
        assert app is not None
        agent = await enroll_sim_agent(app[DB], app[VAULT], "web01", auto_approve=True)
        path = p.work_path(p.MAX_POLL_WAIT)
        headers = p.sign_request(
            agent.key, agent.agent_id, "GET", path, b"", dt.datetime.now(dt.UTC), p.new_nonce()
        )
        poll = asyncio.create_task(console.client.get(path, headers=headers))
        wakeups = app[AGENT_WAKEUPS]

        async def waiting() -> bool:
            return bool(wakeups._events.get(agent.agent_id))

        await async_wait_for(waiting, timeout=15, interval=0.02, what="the long-poll waits")
        assert not poll.done()
        await drain(app)
        # answered now (not after MAX_POLL_WAIT), empty, and the connection is closed after it
        resp = await asyncio.wait_for(poll, timeout=p.MAX_POLL_WAIT / 2)
        assert resp.status == 200
        assert resp.headers.get("Connection", "").lower() == "close"
        assert not p.decode(p.WorkResponse, await resp.read()).packages
        # a poll arriving while the controller stops is answered at once as well
        headers = p.sign_request(
            agent.key, agent.agent_id, "GET", path, b"", dt.datetime.now(dt.UTC), p.new_nonce()
        )
        late = await asyncio.wait_for(
            console.client.get(path, headers=headers), timeout=p.MAX_POLL_WAIT / 2
        )
        assert late.status == 200
