"""Monitoring throughput with 1, 2 and 3 controllers sharing one run on one PostgreSQL (issue 17).

Each "controller" is a fresh process running the real scheduler with the monitoring job (the
lease, the round in ``work_batches``, batches claimed with ``FOR UPDATE SKIP LOCKED``), the same
code ``certmgr serve`` runs, without the web server. For each count the bench makes a new
database with the same deployments, starts the processes and makes the job due. "wall s" runs
from the round's opening to its last stored check; "job s" is the whole job as its lease holder
recorded it (with findings and alerts after the checks). CPU is that of the controller processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from tests.factories.postgres import create_database, postgres_server

CONCURRENCY = 100


async def controller(url: str) -> None:
    """One controller's scheduler with the monitoring job, until SIGTERM (runs in a child)."""
    from certmgr.controller.db.engine import Database
    from certmgr.controller.scheduler.jobs import controller_jobs
    from certmgr.controller.scheduler.runner import Scheduler
    from certmgr.controller.vault import MasterKey
    from certmgr.shared.clock import SystemClock
    from certmgr.shared.secret import Secret

    db = Database(url)
    vault = MasterKey(keys=(("bench", Secret(os.urandom(32))),))
    jobs = [j for j in controller_jobs() if j.name == "monitoring"]
    batch = int(os.environ.get("BENCH_BATCH", "100"))
    sched = Scheduler(db, vault, SystemClock(), jobs, tick=0.2, batch_size=batch)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await sched.setup()
    print("ready", flush=True)
    cpu0 = time.process_time()
    sched.start()
    await stop.wait()
    await sched.aclose()
    await db.dispose()
    print(json.dumps({"cpu": time.process_time() - cpu0}), flush=True)


async def _configure(url: str, concurrency: int, probe_timeout: float) -> None:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import Actor, Role
    from certmgr.controller.services.monitoring.config import MonitorConfig, save_monitor_config
    from certmgr.shared.clock import SystemClock

    db = Database(url)
    cfg = MonitorConfig(concurrency=concurrency, probe_timeout=probe_timeout)
    admin = Actor(name="bench", role=Role.ADMIN, source="bench")
    await save_monitor_config(db, admin, cfg, SystemClock())
    await db.dispose()


async def _timed_run(url: str, count: int, batch: int) -> dict[str, Any]:
    from sqlalchemy import select

    from certmgr.controller.db.engine import Database
    from certmgr.controller.db.models import WorkBatch
    from certmgr.controller.scheduler import leases

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.monitor_shared", "--controller", url],
            stdout=subprocess.PIPE,
            env={**os.environ, "BENCH_BATCH": str(batch)},
        )
        for _ in range(count)
    ]
    db = Database(url)
    try:
        for p in procs:
            assert p.stdout is not None
            line = await asyncio.to_thread(p.stdout.readline)
            if line.strip() != b"ready":
                raise RuntimeError("a bench controller did not start")
        await leases.reschedule(db, "monitoring", dt.datetime.now(dt.UTC))

        async def finished() -> Any:
            job = {j.name: j for j in await leases.all_jobs(db)}["monitoring"]
            return job if job.runs >= 1 and not job.holder else None

        job = await _poll(finished, deadline=1800)
        async with db.reader() as s:
            batches = list((await s.execute(select(WorkBatch))).scalars())
        ends = [b.finished_at for b in batches if b.finished_at is not None]
        checks_wall = (max(ends) - batches[0].round_started_at).total_seconds() if ends else 0.0
        cpu = 0.0
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            out, _ = await asyncio.to_thread(p.communicate, None, 60)
            cpu += float(json.loads(out.strip().splitlines()[-1])["cpu"])
        summary = dict(job.progress)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        await db.dispose()
    seconds = float(job.last_duration_ms) / 1000
    return {
        "controllers": count,
        "checks": int(summary.get("ok", 0)) + int(summary.get("failed", 0)),
        "wall": checks_wall,
        "job": seconds,
        "cpu": cpu,
        "batches": summary.get("batches", 0),
        "shares": summary.get("controllers", 0),
    }


async def _poll(cond: Callable[[], Awaitable[Any]], *, deadline: float) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = await cond()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise RuntimeError("the monitoring run did not finish in time")


async def shared_rows(
    populate: Callable[[str], Awaitable[None]],
    *,
    concurrency: int = CONCURRENCY,
    probe_timeout: float = 10.0,
    batch: int = 100,
    counts: tuple[int, ...] = (1, 2, 3),
) -> list[dict[str, Any]]:
    """Time one monitoring run of the populated deployments with each number of controllers."""
    rows = []
    with postgres_server() as dsn:
        for count in counts:
            url = await asyncio.to_thread(create_database, dsn, "b_" + uuid.uuid4().hex[:12])
            await populate(url)
            await _configure(url, concurrency, probe_timeout)
            rows.append(await _timed_run(url, count, batch))
    return rows


def print_rows(rows: list[dict[str, Any]], title: str) -> None:
    """The side-by-side table."""
    print(
        f"{title}:\n"
        f"{'controllers':>13}{'checks':>8}{'wall s':>9}{'checks/s':>10}{'speed-up':>10}"
        f"{'cpu ms/each':>13}{'batches':>9}{'shares':>8}{'job s':>8}"
    )
    base = rows[0]["checks"] / rows[0]["wall"] if rows and rows[0]["wall"] else 0.0
    for r in rows:
        rate = r["checks"] / r["wall"] if r["wall"] else 0.0
        print(
            f"{r['controllers']:>13}{r['checks']:>8}{r['wall']:>9.2f}{rate:>10.0f}"
            f"{(rate / base if base else 0):>9.2f}x{1000 * r['cpu'] / max(r['checks'], 1):>13.2f}"
            f"{r['batches']:>9}{r['shares']:>8}{r['job']:>8.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--controller":
        asyncio.run(controller(sys.argv[2]))
