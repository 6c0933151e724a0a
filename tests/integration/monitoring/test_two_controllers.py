"""Two `certmgr serve` processes on one PostgreSQL: every due job runs exactly once between them."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AuditEvent
from certmgr.controller.scheduler import leases
from tests.factories.homes import amake_home
from tests.factories.postgres import create_database, free_port
from tests.factories.waiting import async_wait_for, wait_for

JOBS = ("digest", "monitoring", "outbox", "renewal")
TICK_SECONDS = 0.2


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    def listening() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    wait_for(listening, timeout=30, interval=0.05, what=f"serve listening on {port}")


async def test_each_job_runs_once_across_two_controllers(tmp_path: Path, postgres_dsn: str) -> None:
    url = await asyncio.to_thread(create_database, postgres_dsn, "t_" + uuid.uuid4().hex[:16])
    home = await amake_home(tmp_path, url)
    config = home / "config.toml"
    text = config.read_text()
    assert "[scheduler]\n" in text
    config.write_text(
        text.replace("[scheduler]\n", f"[scheduler]\ntick_seconds = {TICK_SECONDS}\n")
    )
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    db = Database(url)
    try:
        for n in (1, 2):
            port = free_port()
            log = tmp_path / f"serve{n}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "certmgr.controller",
                        "serve",
                        "--home",
                        str(home),
                        "--listen",
                        f"127.0.0.1:{port}",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            procs.append((proc, log))
            await asyncio.to_thread(_wait_port, port, proc, log)

        async def job_names() -> bool:
            return set(JOBS) <= {j.name for j in await leases.all_jobs(db)}

        await async_wait_for(job_names, timeout=5, interval=0.05, what="all jobs registered")
        now = dt.datetime.now(dt.UTC)
        for name in JOBS:
            await leases.reschedule(db, name, now)  # all due at once, for both

        async def all_ran() -> bool:
            rows = [j for j in await leases.all_jobs(db) if j.name in JOBS]
            return len(rows) == len(JOBS) and all(j.runs >= 1 and not j.holder for j in rows)

        await async_wait_for(all_ran, timeout=15, interval=0.05, what="every job ran")
        # an absence is checked over a window: five more ticks (0.2 s) of both run nothing twice
        await asyncio.sleep(5 * TICK_SECONDS)
        rows = {j.name: j for j in await leases.all_jobs(db)}
        assert {n: rows[n].runs for n in JOBS} == dict.fromkeys(JOBS, 1)
        assert all(rows[n].last_result == "ok" for n in JOBS), {n: rows[n].last_error for n in JOBS}
        async with db.reader() as s:
            events = list(
                (
                    await s.execute(select(AuditEvent).where(AuditEvent.action.like("job.%")))
                ).scalars()
            )
        per_job = Counter(e.action for e in events)
        assert per_job == {"job.monitoring": 1, "job.renewal": 1, "job.digest": 1}
        holders = {e.detail["holder"] for e in events}
        assert holders and all(":" in h for h in holders)
    finally:
        for proc, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            try:
                await asyncio.to_thread(proc.wait, 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        await db.dispose()
    for _, log in procs:
        assert "Traceback" not in log.read_text(), log.read_text()
