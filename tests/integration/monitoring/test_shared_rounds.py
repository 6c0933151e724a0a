"""Issue 17 item 5: two and three `certmgr serve` processes on one PostgreSQL share a monitoring run.

Deployments point at loopback listeners that accept and never answer, so every check takes the
probe timeout (1 s) and a batch takes seconds. The monitoring job is made due; while the run is
under way, a controller that holds a batch (and is not the coordinator) is killed with SIGKILL.
Its claim runs out (2 s lease), another controller takes the batch over, and the run finishes:
every deployment is checked exactly once, the work was split between controllers, and the one
monitoring job ran once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CheckResult, WorkBatch
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.scheduler import leases
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.services.monitoring.config import MonitorConfig, save_monitor_config
from certmgr.shared.clock import SystemClock
from tests.factories.controller_proc import (
    Controller,
    shared_pg_home,
    wait_job_finished,
    wait_job_registered,
)
from tests.factories.postgres import free_port
from tests.factories.waiting import async_wait_for

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")
DEPLOYMENTS = 30


@pytest.fixture
def silent_ports() -> Iterator[list[int]]:
    """Loopback listeners that complete TCP handshakes (kernel backlog) and never say a word."""
    socks = []
    for _ in range(3):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4096)
        socks.append(s)
    yield [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()


def _pid(holder: str) -> int:
    return int(holder.split(":")[1])


@pytest.mark.parametrize("controllers", [2, 3])
async def test_controllers_share_a_run_and_survive_a_sigkill(
    tmp_path: Path, postgres_dsn: str, silent_ports: list[int], controllers: int
) -> None:
    home, url = await shared_pg_home(
        tmp_path, postgres_dsn, "tick_seconds = 0.2\nbatch_size = 3\nbatch_lease_seconds = 2"
    )
    db = Database(url)
    clock = SystemClock()
    await save_monitor_config(db, ADMIN, MonitorConfig(concurrency=2, probe_timeout=1), clock)
    ids = []
    for n in range(DEPLOYMENTS):
        dep = await create_deployment(
            db,
            ADMIN,
            DeploymentSpec(
                definition_ref="certmgr console",
                server_name=f"web{n}.example.test",
                check_host="127.0.0.1",
                check_port=silent_ports[n % len(silent_ports)],
                sni="localhost",
            ),
            clock,
        )
        ids.append(dep.id)
    procs = [
        Controller(home, free_port(), tmp_path / f"serve{n}.log", listen=True)
        for n in range(controllers)
    ]
    try:
        for c in procs:
            await asyncio.to_thread(c.start)
        await wait_job_registered(db, "monitoring")
        start = dt.datetime.now(dt.UTC)
        await leases.reschedule(db, "monitoring", start)

        async def helper_holding_a_batch() -> Controller | None:
            jobs = {j.name: j for j in await leases.all_jobs(db)}
            coordinator = jobs["monitoring"].holder
            if not coordinator:
                return None
            async with db.reader() as s:
                held = (
                    await s.execute(
                        select(WorkBatch.holder).where(
                            WorkBatch.state == "claimed", WorkBatch.holder != coordinator
                        )
                    )
                ).scalars()
                pids = {_pid(h) for h in held}
            return next((c for c in procs if c.proc is not None and c.proc.pid in pids), None)

        victim = await async_wait_for(
            helper_holding_a_batch, timeout=30, interval=0.05, what="a helper holds a batch"
        )
        assert victim is not None and victim.proc is not None
        killed = victim.proc.pid
        os.kill(killed, signal.SIGKILL)
        await asyncio.to_thread(victim.proc.wait, 10)
        victim.proc = None
        job = await wait_job_finished(db, "monitoring", 0, timeout=90)
        assert (job.runs, job.last_result) == (1, "ok"), job.last_error
        summary = job.progress
        assert summary["total"] == DEPLOYMENTS, summary
        assert summary["abandoned"] == 0 and summary["retaken"] >= 1, summary
        async with db.reader() as s:
            batches = list((await s.execute(select(WorkBatch))).scalars())
            checks = list(
                (
                    await s.execute(
                        select(CheckResult.deployment_id).where(
                            CheckResult.source == "monitor", CheckResult.at >= start
                        )
                    )
                ).scalars()
            )
        # every deployment checked exactly once: nothing lost with the killed controller, nothing twice
        assert Counter(checks) == Counter(ids)
        assert all(b.state == "done" for b in batches)
        assert sorted(i for b in batches for i in b.items) == sorted(ids)
        done_by = Counter(_pid(b.done_by) for b in batches)
        alive = [c.proc.pid for c in procs if c.proc is not None]
        assert set(alive) <= set(done_by), done_by  # every surviving controller took a share
        taken_over = [b for b in batches if b.attempts > 1]
        assert taken_over and all(_pid(b.done_by) != killed for b in taken_over)
    finally:
        for c in procs:
            await asyncio.to_thread(c.stop)
        await db.dispose()
    for c in procs:
        text = c.log.read_text()
        assert "Traceback" not in text, text
