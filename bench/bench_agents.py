"""One controller (``certmgr serve``) with N simulated agents long-polling, on SQLite and on PostgreSQL.

The fleet runs in two processes of its own (:mod:`bench.agents_fleet`), so its CPU is not counted
as the controller's and each process stays well inside the open-file limit. Every simulated agent
has its own X25519/Ed25519 keys, enrols with its own token over HTTPS, signs every request, checks
every answer's signature, opens its sealed package and reports. Measured per database: the
controller's resident memory and CPU with every agent idle in a long-poll, the time from "install
on all" (one API call) until every report is in and every deploy check is recorded; once, a real
``certmgr-agent run`` process's resident memory and idle CPU.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.agents_fleet import POLL_WAIT
from bench.bench_monitor import _nginx
from bench.common import workdir
from tests.factories.postgres import create_database, free_port, postgres_server

FLEETS = 2
GOAL_KB = 64
GOAL_MIB = 1024
GOAL_S = 120
REPORTS_LIMIT_S = 900
"""How long the bench waits for every report after "install on all"."""
AGENTS_PER_WAIT_SECOND = 80
"""Idle polls a second the bench lets a fleet make (each costs the controller a few ms of CPU)."""


def _status(pid: int, field: str) -> float:
    """A ``/proc/PID/status`` memory field in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (nginx's master and workers)."""
    total = 0.0
    try:
        total = _cpu_seconds(pid)
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(_tree_cpu(int(k)) for k in kids)


def _load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def _progress(t0: float, what: str) -> None:
    print(f"  [{time.perf_counter() - t0:6.1f} s] {what} ({_load()})", file=sys.stderr, flush=True)


def _raise_nofile() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Fleet:
    """One fleet process and its line protocol."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, base: str, cafile: Path, tokens: list[str]) -> Fleet:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.agents_fleet",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,
        )
        fleet = cls(proc)
        fleet.send(json.dumps({"base": base, "cafile": str(cafile), "tokens": tokens}))
        return fleet

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"a fleet process ended (exit {await self.proc.wait()})")
        return dict(json.loads(line))

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.send("stop")
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def _all_checked(db: Any, n: int, t0: float) -> float:
    """Seconds from ``t0`` (wall clock) until every deployment has a deploy-check result."""
    from sqlalchemy import func, select

    from certmgr.controller.db.models import CheckResult

    for _ in range(2400):
        async with db.reader() as s:
            done = (await s.execute(select(func.count(CheckResult.id)))).scalar_one()
        if done >= n:
            break
        await asyncio.sleep(0.25)
    return time.time() - t0


async def _done_or_status(fleet: Fleet, deadline: float) -> dict[str, Any]:
    """The fleet's ``done`` line, or by ``deadline`` (wall clock) its state as it stands."""
    try:
        return await asyncio.wait_for(fleet.read(), max(1.0, deadline - time.time()))
    except TimeoutError:
        fleet.send("status")
        return await fleet.read()


async def _gather_bounded(limit: int, coros: list[Any]) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return list(await asyncio.gather(*(one(c) for c in coros)))


async def _one(
    label: str, n: int, database_url: str | None, *, real_agent: bool, poll_wait: int
) -> None:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.home import init_home
    from certmgr.controller.services.acquisition.definitions import (
        DefinitionSpec,
        create_definition,
    )
    from certmgr.controller.services.acquisition.private_ca import (
        CaContext,
        IssueRequest,
        issue_for_definitions,
    )
    from certmgr.controller.services.admin.tokens import create_token
    from certmgr.controller.services.agents.enrolment import create_enrollment_token
    from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key
    from certmgr.shared import protocol as p
    from certmgr.shared.clock import SystemClock

    d = workdir("agents")
    with socket.socket() as s_:
        s_.bind(("127.0.0.1", 0))
        port = s_.getsockname()[1]
    base = f"https://127.0.0.1:{port}"
    await init_home(
        d / "home",
        admin_password="bench-password-123",
        listen=f"127.0.0.1:{port}",
        database_url=database_url,
    )
    if (
        poll_wait != POLL_WAIT
    ):  # the controller's [agents] poll_wait, which agents take at enrolment
        conf = d / "home" / "config.toml"
        text = conf.read_text()
        assert f"\npoll_wait = {POLL_WAIT}\n" in text
        conf.write_text(
            text.replace(f"\npoll_wait = {POLL_WAIT}\n", f"\npoll_wait = {poll_wait}\n")
        )
    settings = load_settings(d / "home")
    db = Database(settings.database_url)
    vault = read_master_key(settings.master_key_path)
    clock, actor = SystemClock(), cli_actor()
    t_setup = time.perf_counter()
    await create_definition(
        db, actor, DefinitionSpec(name="fleet", common_name="fleet.bench.test"), clock=clock
    )
    await issue_for_definitions(
        db,
        vault,
        actor,
        CaContext(settings.ca_dir, settings.effective_crl_url),
        [IssueRequest("fleet")],
        clock=clock,
    )
    nginx, nginx_port = await _serve_fleet_certificate(db, vault, d)
    _progress(t_setup, "certificate issued, nginx serves it")
    # the first token makes the controller key; the others name it (and the CA, read once)
    first = await create_enrollment_token(
        db, actor, clock, controller_url=base, ca_dir=settings.ca_dir, vault=vault
    )
    fp = p.parse_token(first).ca_sha256
    tokens = [first] + await _gather_bounded(
        8,
        [
            create_enrollment_token(db, actor, clock, controller_url=base, ca_sha256=fp)
            for _ in range(n)
        ],
    )
    _, api_token = await create_token(db, actor, "admin", "bench", clock)
    _progress(t_setup, f"{n + 1} enrolment tokens made")
    log = (d / "serve.log").open("wb")
    ctl = subprocess.Popen(
        [sys.executable, "-m", "certmgr.controller", "serve", "--home", str(settings.home)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    fleets: list[Fleet] = []
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        cafile = settings.ca_dir / "ca.pem"
        per = -(-n // FLEETS)
        fleets = [await Fleet.start(base, cafile, tokens[i : i + per]) for i in range(0, n, per)]
        agent_ids = [int(a) for f in fleets for a in (await f.read())["enrolled"]]
        _progress(t_setup, f"{n} agents enrolled")
        deps = await _gather_bounded(
            8,
            [
                create_deployment(
                    db,
                    actor,
                    DeploymentSpec(
                        definition_ref="fleet",
                        server_name=f"h{a}.bench.test",
                        software="files",
                        delivery="agent",
                        check_host="127.0.0.1",
                        check_port=nginx_port,
                        sni="fleet.bench.test",
                        monitoring=False,
                        agent_id=a,
                    ),
                    clock,
                )
                for a in agent_ids
            ],
        )
        dep_ids = [dep.id for dep in deps]
        _progress(t_setup, f"{n} deployments made")
        setup_s = time.perf_counter() - t_setup
        await asyncio.sleep(2)
        rss_before = _status(ctl.pid, "VmRSS")
        for f in fleets:
            f.send("poll")
        for f in fleets:
            await f.read()  # polling
        # the first polls' wave is over by now; measured over one poll interval after it
        await asyncio.sleep(30 + n / 500)
        cpu0, w0 = _cpu_seconds(ctl.pid), time.monotonic()
        await asyncio.sleep(poll_wait)
        idle_cpu = 100 * (_cpu_seconds(ctl.pid) - cpu0) / (time.monotonic() - w0)
        idle_rss = _status(ctl.pid, "VmRSS")
        idle_load = _load()
        per_agent_kb = (idle_rss - rss_before) * 1024 / n
        print(
            f"{n} agents long-polling one controller ({label}, poll wait {poll_wait} s); "
            f"setup {setup_s:.0f} s"
        )
        print(
            f"  controller memory, all idle in a long-poll: {idle_rss:.0f} MiB "
            f"(goal under {GOAL_MIB} MiB: {idle_rss / GOAL_MIB:.2f}x); {rss_before:.0f} MiB before "
            f"the polls, so {per_agent_kb:.0f} KB per idle agent (goal {GOAL_KB} KB: "
            f"{per_agent_kb / GOAL_KB:.2f}x)"
        )
        print(
            f"  controller CPU with every agent idle: {idle_cpu:.0f} % of one core, "
            f"{10 * idle_cpu * poll_wait / n:.2f} ms per idle poll of {poll_wait} s ({idle_load})",
            flush=True,
        )
        ctx = ssl.create_default_context(cafile=str(cafile))
        ctx.check_hostname = False
        others = [f.proc.pid for f in fleets] + [nginx.pid]
        t0, cpu_install = time.time(), _cpu_seconds(ctl.pid)
        cpu_others = [_tree_cpu(pid) for pid in others]
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session,
            session.post(
                base + "/api/v1/deployments/bulk/install",
                json={"deployments": dep_ids},
                headers={"Authorization": f"Bearer {api_token}"},
                timeout=aiohttp.ClientTimeout(total=900),
            ) as r,
        ):
            if r.status != 200:
                log.flush()
                tail = (d / "serve.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"install on all: {r.status} {await r.text()}\n{tail}")
        queued_at = time.time() - t0
        _progress(t_setup, "queued")
        done = [await _done_or_status(f, t0 + REPORTS_LIMIT_S) for f in fleets]
        missing = sum(1 for x in done for t in x["reported"] if not t)
        all_in = max(float(x["done"]) for x in done) - t0 if not missing else float(REPORTS_LIMIT_S)
        errors = sum(int(x["errors"]) for x in done)
        kinds: dict[str, int] = {}
        for x in done:
            for kind, count in dict(x.get("error_kinds", {})).items():
                kinds[kind] = kinds.get(kind, 0) + int(count)
        got = sorted(float(t) - t0 for x in done for t in x["got"] if t)
        reported = sorted(float(t) - t0 for x in done for t in x["reported"] if t)
        if missing:
            print(f"  {missing} of {n} agents had not reported after {REPORTS_LIMIT_S} s")
        checked_at = await _all_checked(db, n - missing, t0)
        cpu_install = _cpu_seconds(ctl.pid) - cpu_install
        fleet_cpu = sum(_tree_cpu(pid) - c for pid, c in zip(others[:-1], cpu_others, strict=False))
        nginx_cpu = _tree_cpu(others[-1]) - cpu_others[-1]
        run_load = _load()
        print(
            f"  install on all: queued in {queued_at:.1f} s; every report in after {all_in:.1f} s "
            f"(goal {GOAL_S} s: {all_in / GOAL_S:.2f}x); every deploy check recorded after "
            f"{checked_at:.1f} s; {errors} poll errors/retries; controller peak "
            f"{_status(ctl.pid, 'VmHWM'):.0f} MiB; controller CPU {cpu_install:.0f} s, "
            f"{1000 * cpu_install / n:.1f} ms per agent, idle polls included ({run_load})"
        )
        print(
            f"  packages received after (s, 10/50/90/100 %): {_quantiles(got)}; "
            f"reports sent after: {_quantiles(reported)}"
        )
        print(
            f"  beside it, same time: the fleet's CPU {fleet_cpu:.0f} s "
            f"({1000 * fleet_cpu / n:.1f} ms per agent), nginx's {nginx_cpu:.0f} s; "
            f"all three on {os.cpu_count()} cores: at least "
            f"{(cpu_install + fleet_cpu + nginx_cpu) / (os.cpu_count() or 1):.0f} s of wall time"
        )
        if kinds:
            print(
                f"  poll errors by kind: {', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}"
            )
        if real_agent:
            await _real_agent(base, tokens[-1])
    finally:
        for f in fleets:
            await f.stop()
        nginx.terminate()
        nginx.wait(10)
        ctl.send_signal(signal.SIGTERM)
        ctl.wait(60)
        log.close()
        await db.dispose()
        if not os.environ.get("CERTMGR_BENCH_KEEP"):
            shutil.rmtree(d, ignore_errors=True)


def _quantiles(times: list[float]) -> str:
    """The 10th, 50th, 90th and 100th percentile of sorted ``times``."""
    if not times:
        return "-"
    return " / ".join(
        f"{times[min(len(times) - 1, len(times) * q // 10)]:.1f}" for q in (1, 5, 9, 10)
    )


async def _serve_fleet_certificate(
    db: Any, vault: Any, d: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """nginx on loopback serving the fleet's certificate, so every deploy check finds it installed."""
    from certmgr.controller.services.acquisition.definitions import find_definition
    from certmgr.controller.services.certificates.material import (
        build_material,
        current_material_rows,
    )
    from certmgr.shared.pki import pem_bundle
    from certmgr.shared.targets._codec import key_pem

    async with db.reader() as s:
        rows = await current_material_rows(s, await find_definition(s, "fleet"))
    m = build_material(rows, vault)
    assert m.key is not None
    (d / "nginx").mkdir()
    chain, key = d / "nginx" / "chain.pem", d / "nginx" / "key.pem"
    chain.write_bytes(pem_bundle([m.certificate, *m.chain]))
    key.touch(mode=0o600)
    key.write_bytes(key_pem(m.key))
    port = free_port()
    return _nginx(d / "nginx", chain, key, port, 1), port


async def _real_agent(base: str, token: str) -> None:
    """A real ``certmgr-agent run`` beside the fleet: its resident memory and idle CPU."""
    state = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    conf = state / "agent.toml"
    conf.write_text(
        f'state_dir = "{state / "state"}"\npoll_wait = 25\n[targets.files]\ntype = "files"\n'
        f'allowed_paths = ["{state / "out"}"]\ncert_path = "{state / "out" / "c.pem"}"\n'
    )
    enrolled = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "certmgr.agent",
            "enroll",
            "--token",
            token,
            "--controller",
            base,
            "--config",
            str(conf),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if enrolled.returncode != 0:
        print(f"  real certmgr-agent: enrolment failed: {enrolled.stderr.strip()}")
        return
    agent = subprocess.Popen(
        [sys.executable, "-m", "certmgr.agent", "run", "--config", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(5)
        cpu0, t1 = _cpu_seconds(agent.pid), time.monotonic()
        await asyncio.sleep(30)
        cpu = _cpu_seconds(agent.pid) - cpu0
        print(
            f"  real certmgr-agent: {_status(agent.pid, 'VmRSS'):.1f} MiB resident "
            f"(goal under 50 MB), idle CPU {100 * cpu / (time.monotonic() - t1):.2f} % over 30 s "
            f"(goal near zero)"
        )
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(15)
        shutil.rmtree(state, ignore_errors=True)


async def run(*, quick: bool = False) -> None:
    n = 1000 if quick else 10_000
    limit = _raise_nofile()
    print(
        f"open-file limit {limit}; {FLEETS} fleet processes of {-(-n // FLEETS)} agents; "
        f"{os.cpu_count()} cores; {_load()}"
    )
    which = os.environ.get("CERTMGR_BENCH_AGENTS_DB", "sqlite,postgresql").split(",")
    # the agents' long-poll time is the controller's setting (default 25 s), set as README
    # advises for the fleet's size (one second per AGENTS_PER_WAIT_SECOND agents, so idle polls
    # stay near that many a second); CERTMGR_BENCH_POLL_WAIT sets it
    wait = int(
        os.environ.get("CERTMGR_BENCH_POLL_WAIT", max(POLL_WAIT, n // AGENTS_PER_WAIT_SECOND))
    )
    if "sqlite" in which:
        await _one("SQLite", n, None, real_agent=True, poll_wait=wait)
    if "postgresql" in which:
        with postgres_server() as dsn:
            url = await asyncio.to_thread(create_database, dsn, "bench")
            await _one("PostgreSQL", n, url, real_agent="sqlite" not in which, poll_wait=wait)
