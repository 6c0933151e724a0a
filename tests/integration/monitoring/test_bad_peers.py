"""Hosts that hang, reset, speak another protocol or send an enormous chain are recorded results
within the timeout, and the run goes on to the healthy server."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from certmgr.controller.db.models import CheckResult
from certmgr.controller.services.monitoring.checks import run_monitoring
from certmgr.controller.services.monitoring.config import MonitorConfig
from tests.factories.servers import NginxServer
from tests.integration.monitoring.conftest import MonEnv

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class HugeChainNginx(NginxServer):
    """nginx with a chain no TLS client accepts: ready once it accepts TCP (no handshake check)."""

    def _wait_ready(self, log_offset: int) -> bool:
        deadline = time.monotonic() + 60  # nginx starts slowly on a loaded host
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.02)
        pytest.fail(f"nginx did not listen:\n{self.log()}")


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # accepts, never speaks; returns when the client gives up
    writer.close()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.0 400 Bad Request\r\n\r\nnot TLS at all\r\n" * 50)
    await writer.drain()
    writer.close()


async def test_bad_peers_are_results_and_the_run_goes_on(tmp_path: Path, env: MonEnv) -> None:
    f = env.files
    big = tmp_path / "big-chain.pem"
    big.write_bytes(f["leafA.pem"].read_bytes() + f["int.pem"].read_bytes() * 300)  # ~200 KB chain
    servers = [await asyncio.start_server(h, "127.0.0.1", 0) for h in (_silent, _reset, _garbage)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    try:
        async with (
            NginxServer(tmp_path / "ok", cert=f["fullchainA.pem"], key=f["leafA.key"]) as good,
            HugeChainNginx(tmp_path / "huge", cert=big, key=f["leafA.key"]) as huge,
        ):
            ids = {
                "silent": await env.deployment(ports[0], name="silent.test"),
                "reset": await env.deployment(ports[1], name="reset.test"),
                "garbage": await env.deployment(ports[2], name="garbage.test"),
                "huge": await env.deployment(huge.port, name="huge.test"),
                "good": await env.deployment(good.port, name="good.test"),
            }
            started = time.monotonic()
            summary = await run_monitoring(
                env.db, env.clock, MonitorConfig(probe_timeout=1.5, concurrency=3)
            )
            took = time.monotonic() - started
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()
    assert summary.total == 5 and summary.ok == 1 and summary.failed == 4
    assert took < 6, took  # one timeout of 1.5 s, the rest at once
    async with env.db.reader() as s:
        rows = {r.deployment_id: r for r in (await s.execute(select(CheckResult))).scalars()}
    kinds = {name: rows[i].detail.get("error_kind") for name, i in ids.items()}
    assert kinds == {
        "silent": "timeout",
        "reset": "reset",
        "garbage": "handshake",
        "huge": "too-large",
        "good": None,
    }
    assert rows[ids["silent"]].reachable and not rows[ids["silent"]].ok
    assert "did not finish the TLS handshake within 1.5 s" in rows[ids["silent"]].error
    assert rows[ids["good"]].ok and rows[ids["good"]].matches_current
    assert all(r.source == "monitor" for r in rows.values())
