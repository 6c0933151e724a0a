"""Issue 17 item 4: the running console serves its renewed certificate without a restart, on every replica.

Two ``certmgr serve`` processes on one home (one database) are asked for their certificate by
real TLS handshakes on loopback: after ``ca issue "certmgr console"`` renews the console
definition, and after ``console use`` switches to another definition, new handshakes on both
replicas present the new certificate's fingerprint.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.controller_proc import Controller
from tests.factories.homes import arun_cli, make_home
from tests.factories.postgres import free_port
from tests.factories.waiting import async_wait_for


def _served_sha256(port: int) -> str:
    """SHA-256 of the certificate a new handshake on ``port`` presents."""
    pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=10)
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


@pytest.fixture
def replicas(tmp_path: Path, database_url: str) -> Iterator[tuple[Path, list[Controller]]]:
    home = make_home(tmp_path, database_url)
    config = home / "config.toml"
    config.write_text(
        config.read_text().replace("[server]\n", "[server]\ntls_reload_seconds = 0.3\n", 1)
    )
    started: list[Controller] = []
    try:
        for n in (1, 2):
            c = Controller(home, free_port(), tmp_path / f"serve{n}.log", listen=True)
            c.start()
            started.append(c)
        yield home, started
    finally:
        for c in started:
            c.stop()
    for c in started:
        assert "Traceback" not in c.log.read_text(), c.log.read_text()


async def _wanted(home: Path) -> str:
    res = await arun_cli(["console", "show", "--home", str(home), "--json"])
    assert res.code == 0, res.err
    sha: str = res.json()["sha256"]
    return sha


async def _all_serve(controllers: list[Controller], sha: str) -> None:
    async def served() -> bool:
        seen = [await asyncio.to_thread(_served_sha256, c.port) for c in controllers]
        return seen == [sha] * len(controllers)

    await async_wait_for(served, timeout=30, interval=0.2, what=f"every replica serves {sha}")


async def test_renewed_console_certificate_is_served_without_restart(
    replicas: tuple[Path, list[Controller]],
) -> None:
    home, controllers = replicas
    first = await _wanted(home)
    await _all_serve(controllers, first)

    res = await arun_cli(["ca", "issue", "certmgr console", "--home", str(home), "--json"])
    assert res.code == 0, res.err
    renewed = await _wanted(home)
    assert renewed == res.json()["sha256"] != first
    await _all_serve(controllers, renewed)
    pids = [c.proc.pid for c in controllers if c.proc is not None]
    assert len(pids) == 2  # the same processes: no restart

    # another definition (its key in the repository) becomes the console's certificate
    res = await arun_cli(
        ["definition", "new", "--home", str(home), "--name", "public", "--cn", "localhost"]
    )
    assert res.code == 0, res.err
    res = await arun_cli(["ca", "issue", "public", "--home", str(home), "--json"])
    assert res.code == 0, res.err
    other = res.json()["sha256"]
    res = await arun_cli(["console", "use", "public", "--home", str(home)])
    assert res.code == 0, res.err
    assert other in res.out
    assert await _wanted(home) == other
    await _all_serve(controllers, other)
    # the file on disk follows too (a restart serves the same certificate)
    assert other in (await arun_cli(["console", "show", "--home", str(home)])).out
    assert all(c.proc is not None and c.proc.pid in pids for c in controllers)


async def test_console_use_refuses_what_it_cannot_serve(tmp_path: Path, database_url: str) -> None:
    home = await asyncio.to_thread(make_home, tmp_path, database_url)
    before = await _wanted(home)
    res = await arun_cli(["console", "use", "no such definition", "--home", str(home)])
    assert res.code != 0
    assert "no such definition" in res.err
    # a definition without a current certificate is refused, the console keeps its own
    res = await arun_cli(
        ["definition", "new", "--home", str(home), "--name", "empty", "--cn", "localhost"]
    )
    assert res.code == 0, res.err
    res = await arun_cli(["console", "use", "empty", "--home", str(home)])
    assert res.code != 0
    assert "no current certificate" in res.err
    assert await _wanted(home) == before
    shown = await arun_cli(["console", "show", "--home", str(home), "--json"])
    assert shown.json()["definition"] == "certmgr console"
