"""A fleet of simulated agents in its own process (``python -m bench.agents_fleet``), driven by bench_agents.

Every simulated agent is real on the wire: its own X25519/Ed25519 keys, enrolment with its own
token, every request signed, every answer's signature checked against the pinned controller key,
each sealed package opened (signature and expiry checked) and its result reported.

Lines on stdin (JSON): ``{"base", "cafile", "tokens"}`` first; then ``poll`` (start long-polling)
``status`` (answered with the ``done`` line as it stands, ``done`` 0) and ``stop``. Lines on stdout (JSON): ``{"enrolled": [ids]}``, ``{"polling": n}``,
``{"done": wall_time, "errors": n, "got": [times], "reported": [times]}`` once every agent
reported its install (when each first got its package and first reported it, sorted).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import resource
import ssl
import sys
import time
from typing import Any

import aiohttp
import nacl.public
import nacl.signing

from certmgr.shared import protocol as p
from certmgr.shared.envelope import open_for_agent
from certmgr.shared.pki import load, sha256_fingerprint

POLL_WAIT = p.DEFAULT_POLL_WAIT
ERROR_KINDS: dict[str, int] = {}
"""How many polls and reports failed, by kind (exception class, and HTTP status)."""


class SimAgent:
    """One simulated agent."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.x = nacl.public.PrivateKey.generate()
        self.ed = nacl.signing.SigningKey.generate()
        self.agent_id = ""
        self.controller_key: nacl.signing.VerifyKey | None = None
        self.done = asyncio.Event()
        self.got_at = 0.0  # wall time its first package came (0: none yet)
        self.reported_at = 0.0
        self.errors = 0
        self.poll_wait = POLL_WAIT

    async def enroll(self, token: str) -> None:
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
        self.poll_wait = resp.poll_wait_seconds  # as a real agent: the controller's setting

    async def _signed(self, method: str, path: str, body: bytes = b"") -> bytes:
        assert self.controller_key is not None
        nonce = p.new_nonce()
        headers = p.sign_request(
            self.ed, self.agent_id, method, path, body, dt.datetime.now(dt.UTC), nonce
        )
        headers["Content-Type"] = "application/json"
        async with self.session.request(
            method,
            self.base + path,
            data=body or None,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=self.poll_wait + 300),
        ) as r:
            r.raise_for_status()
            answer = await r.read()
            if not p.answer_verifies(
                self.controller_key, r.headers, method, path, nonce, r.status, answer
            ):
                raise RuntimeError("the controller's answer is not signed by its pinned key")
            return answer

    async def run(self) -> None:
        assert self.controller_key is not None
        while True:
            try:
                await self._poll_once()
            except (aiohttp.ClientError, TimeoutError) as err:
                # a failed poll or report: the package stays open, the next poll brings it again
                self.errors += 1
                kind = err.__class__.__name__
                if isinstance(err, aiohttp.ClientResponseError):
                    kind += f" {err.status}"
                ERROR_KINDS[kind] = ERROR_KINDS.get(kind, 0) + 1
                await asyncio.sleep(1)

    async def _poll_once(self) -> None:
        assert self.controller_key is not None
        work = p.decode(
            p.WorkResponse,
            await self._signed("GET", p.work_path(self.poll_wait)),
            max_size=p.MAX_WORK_RESPONSE_SIZE,
        )
        for pkg in work.packages:
            self.got_at = self.got_at or time.time()
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
            self.reported_at = self.reported_at or time.time()
            self.done.set()


def _say(msg: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


async def _line() -> str:
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conf = json.loads(await _line())
    ctx = ssl.create_default_context(cafile=conf["cafile"])
    ctx.check_hostname = False
    base = conf["base"]
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ctx, limit=0, force_close=False)
    ) as session:
        agents = [SimAgent(session, base) for _ in conf["tokens"]]
        sem = asyncio.Semaphore(20)

        async def enroll(a: SimAgent, tok: str) -> None:
            async with sem:
                await a.enroll(tok)

        await asyncio.gather(*(enroll(a, t) for a, t in zip(agents, conf["tokens"], strict=True)))
        _say({"enrolled": [a.agent_id for a in agents]})
        if await _line() != "poll":
            return
        tasks = [asyncio.create_task(a.run()) for a in agents]
        _say({"polling": len(agents)})

        def state(done: float) -> dict[str, Any]:
            return {
                "done": done,
                "errors": sum(a.errors for a in agents),
                "error_kinds": ERROR_KINDS,
                "got": sorted(a.got_at for a in agents),
                "reported": sorted(a.reported_at for a in agents),
            }

        async def all_done() -> None:
            await asyncio.gather(*(a.done.wait() for a in agents))
            _say(state(time.time()))

        watcher = asyncio.create_task(all_done())
        while await _line() == "status":  # the bench gave up waiting: how far it got
            _say(state(0.0))
        watcher.cancel()  # "stop" (or end of input)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, watcher, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
