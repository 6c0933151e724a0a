"""A real controller process (`certmgr serve`) for end-to-end tests, and a polling helper."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import JobLease
from certmgr.controller.scheduler import leases
from tests.factories.homes import amake_home
from tests.factories.postgres import create_database
from tests.factories.waiting import async_wait_for, wait_for

T = TypeVar("T")


class Controller:
    def __init__(self, home: Path, port: int, log: Path, *, listen: bool = False) -> None:
        """``listen``: pass ``--listen 127.0.0.1:PORT`` (replicas of one home on their own ports)."""
        self.home, self.port, self.log = home, port, log
        self.extra = ["--listen", f"127.0.0.1:{port}"] if listen else []
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        fh = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "certmgr.controller",
                "serve",
                "--home",
                str(self.home),
                *self.extra,
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        fh.close()
        deadline = time.monotonic() + 60  # a loaded test host starts Python slowly
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                time.sleep(0.1)
        raise AssertionError("controller did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def api(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:

        ctx = ssl.create_default_context(cafile=str(self.home / "ca" / "ca.pem"))
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.port}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:  # noqa: S310 - loopback https
            return json.loads(resp.read() or b"{}")


def wait_until(cond: Callable[[], T], timeout: float = 30.0) -> T:
    return wait_for(cond, timeout, interval=0.2)


async def shared_pg_home(tmp_path: Path, postgres_dsn: str, scheduler: str) -> tuple[Path, str]:
    """A home on a new PostgreSQL database for several controllers, with ``[scheduler]`` lines added.

    Returns:
        The home and the database URL.
    """
    url = await asyncio.to_thread(create_database, postgres_dsn, "t_" + uuid.uuid4().hex[:16])
    home = await amake_home(tmp_path, url)
    config = home / "config.toml"
    text = await asyncio.to_thread(config.read_text)
    assert "[scheduler]\n" in text
    await asyncio.to_thread(
        config.write_text, text.replace("[scheduler]\n", f"[scheduler]\n{scheduler}\n", 1)
    )
    return home, url


async def job_row(db: Database, name: str) -> JobLease | None:
    """The job's lease row (None until a controller registered the job)."""
    return {j.name: j for j in await leases.all_jobs(db)}.get(name)


async def wait_job_registered(db: Database, name: str) -> None:
    """Until a started controller has created the job's lease row."""

    async def registered() -> bool:
        return await job_row(db, name) is not None

    await async_wait_for(registered, timeout=15, interval=0.05, what=f"job {name} registered")


async def wait_job_finished(db: Database, name: str, runs_before: int, timeout: float) -> JobLease:
    """Until the job has run once more than ``runs_before`` and nobody holds it; returns its row."""

    async def finished() -> JobLease | None:
        job = await job_row(db, name)
        return job if job is not None and job.runs > runs_before and not job.holder else None

    done = await async_wait_for(finished, timeout=timeout, interval=0.1, what=f"job {name} ran")
    assert done is not None
    return done
