"""One controller (`certmgr serve`, SQLite) with N agents long-polling over the real protocol.

The fleet is a load tool in this process: every simulated agent has its own X25519/Ed25519 keys,
enrols with its own token, signs every request, opens its sealed package (signature checked) and
reports. Measured: time from "install on all" (one API call) until every report is in, the
controller's resident memory, and a real `certmgr-agent run` process's resident memory and idle CPU.
"""

from __future__ import annotations

import asyncio
import os
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
import nacl.public
import nacl.signing

from bench.common import workdir


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SimAgent:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.x = nacl.public.PrivateKey.generate()
        self.ed = nacl.signing.SigningKey.generate()
        self.agent_id = ""
        self.controller_key: nacl.signing.VerifyKey | None = None
        self.done = asyncio.Event()

    async def enroll(self, token: str) -> None:
        from certmgr.shared import protocol as p

        tok = p.parse_token(token)
        req = p.EnrollRequest(
            token_secret=tok.secret,
            agent_name="sim",
            hostname="sim",
            agent_version="bench",
            x25519_public_key=bytes(self.x.public_key),
            ed25519_public_key=bytes(self.ed.verify_key),
        )
        async with self.session.post(
            self.base + p.PATH_ENROLL,
            data=p.encode(req),
            headers={"Content-Type": "application/json"},
        ) as r:
            r.raise_for_status()
            resp = p.decode(p.EnrollResponse, await r.read())
        self.agent_id = resp.agent_id
        self.controller_key = nacl.signing.VerifyKey(resp.controller_verify_key)

    async def _signed(self, method: str, path: str, body: bytes = b"") -> bytes:
        import datetime as dt

        from certmgr.shared import protocol as p

        headers = p.sign_request(
            self.ed, self.agent_id, method, path, body, dt.datetime.now(dt.UTC), p.new_nonce()
        )
        headers["Content-Type"] = "application/json"
        async with self.session.request(
            method,
            self.base + path,
            data=body or None,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=120),
        ) as r:
            r.raise_for_status()
            return await r.read()

    async def run(self) -> None:
        import datetime as dt

        from certmgr.shared import protocol as p
        from certmgr.shared.envelope import open_for_agent
        from certmgr.shared.pki import load, sha256_fingerprint

        assert self.controller_key is not None
        while not self.done.is_set():
            work = p.decode(
                p.WorkResponse,
                await self._signed("GET", p.work_path(25)),
                max_size=p.MAX_WORK_RESPONSE_SIZE,
            )
            for pkg in work.packages:
                m = open_for_agent(
                    pkg.blob,
                    self.x,
                    self.controller_key,
                    installed_sequence=None,
                    now=dt.datetime.now(dt.UTC),
                )
                sha = sha256_fingerprint(load(m.certificate_pem).certificates[0])
                rep = p.Report(
                    deployment_id=m.deployment_id,
                    sequence=m.sequence,
                    ok=True,
                    target="files",
                    installed_sha256=sha,
                )
                await self._signed("POST", p.PATH_REPORT, p.encode(rep))
                self.done.set()


async def _all_checked(db: Any, n: int, t0: float) -> float:
    """Seconds from ``t0`` until every deployment has a deploy-check result (bounded wait)."""
    from sqlalchemy import func, select

    from certmgr.controller.db.models import CheckResult

    for _ in range(1200):
        async with db.reader() as s:
            done = (await s.execute(select(func.count(CheckResult.id)))).scalar_one()
        if done >= n:
            break
        await asyncio.sleep(0.25)
    return time.perf_counter() - t0


async def run(*, quick: bool = False) -> None:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.home import init_home
    from certmgr.controller.server import ca_sha256
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
    from certmgr.shared.clock import SystemClock

    n = 200 if quick else 2000
    d = workdir("agents")
    with socket.socket() as s_:
        s_.bind(("127.0.0.1", 0))
        port = s_.getsockname()[1]
    await init_home(d / "home", admin_password="bench-password-123", listen=f"127.0.0.1:{port}")
    settings = load_settings(d / "home")
    db = Database(settings.database_url)
    vault = read_master_key(settings.master_key_path)
    clock, actor = SystemClock(), cli_actor()
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
    tokens = [
        await create_enrollment_token(
            db, actor, clock, controller_url="", ca_sha256=ca_sha256(settings)
        )
        for _ in range(n + 1)
    ]
    _, api_token = await create_token(db, actor, "admin", "bench", clock)
    log = (d / "serve.log").open("wb")
    ctl = subprocess.Popen(
        [sys.executable, "-m", "certmgr.controller", "serve", "--home", str(settings.home)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        ctx = ssl.create_default_context(cafile=str(settings.ca_dir / "ca.pem"))
        ctx.check_hostname = False
        base = f"https://127.0.0.1:{port}"
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ctx, limit=0)
        ) as session:
            agents = [SimAgent(session, base) for _ in range(n)]
            sem = asyncio.Semaphore(50)

            async def enroll(a: SimAgent, tok: str) -> None:
                async with sem:
                    await a.enroll(tok)

            await asyncio.gather(*(enroll(a, t) for a, t in zip(agents, tokens, strict=False)))
            dep_ids = []
            for a in agents:
                dep = await create_deployment(
                    db,
                    actor,
                    DeploymentSpec(
                        definition_ref="fleet",
                        server_name=f"h{a.agent_id}.bench.test",
                        software="files",
                        delivery="agent",
                        check_host="127.0.0.1",
                        check_port=9,
                        monitoring=False,
                        agent_id=int(a.agent_id),
                    ),
                    clock,
                )
                dep_ids.append(dep.id)
            tasks = [asyncio.create_task(a.run()) for a in agents]
            await asyncio.sleep(3)  # everybody is long-polling
            idle_rss = _rss_mib(ctl.pid)
            t0 = time.perf_counter()
            async with session.post(
                base + "/api/v1/deployments/bulk/install",
                json={"deployments": dep_ids},
                headers={"Authorization": f"Bearer {api_token}"},
                timeout=aiohttp.ClientTimeout(total=600),
            ) as r:
                assert r.status == 200, await r.text()
            queued_at = time.perf_counter() - t0
            await asyncio.wait_for(asyncio.gather(*(a.done.wait() for a in agents)), timeout=600)
            all_in = time.perf_counter() - t0
            checked_at = await _all_checked(db, n, t0)
            peak = _rss_mib(ctl.pid)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        print(f"{n} agents long-polling one controller (SQLite, 2 cores)")
        print(
            f"  install on all: queued in {queued_at:.1f} s; every report in after {all_in:.1f} s (goal: 2,000 within 60 s)"
        )
        print(
            f"  the controller's deploy check (in the background after each report) recorded for all after {checked_at:.1f} s"
        )
        print(
            f"  controller resident memory: {idle_rss:.0f} MiB with {n} idle long-polls, {peak:.0f} MiB after the run"
        )
        # a single real agent
        state = Path(tempfile.mkdtemp(prefix="bench-agent-"))
        conf = state / "agent.toml"
        conf.write_text(
            f'state_dir = "{state / "state"}"\npoll_wait = 25\n[targets.files]\ntype = "files"\nallowed_paths = ["{state / "out"}"]\ncert_path = "{state / "out" / "c.pem"}"\n'
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "certmgr.agent",
                "enroll",
                "--token",
                tokens[-1],
                "--controller",
                base,
                "--config",
                str(conf),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        agent = subprocess.Popen(
            [sys.executable, "-m", "certmgr.agent", "run", "--config", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(5)
            cpu0, t1 = _cpu_seconds(agent.pid), time.monotonic()
            time.sleep(30)
            cpu = _cpu_seconds(agent.pid) - cpu0
            print(
                f"  real certmgr-agent: {_rss_mib(agent.pid):.1f} MiB resident, idle CPU {100 * cpu / (time.monotonic() - t1):.2f} % over 30 s (goal: under 50 MB, near zero)"
            )
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(15)
    finally:
        ctl.send_signal(signal.SIGTERM)
        ctl.wait(30)
        log.close()
        await db.dispose()
