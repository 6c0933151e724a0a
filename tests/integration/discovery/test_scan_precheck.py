"""The scan's connect-scan (a bare connect per pair before the probe) on loopback: the same
outcomes with and without the ``precheck`` option (kept for callers; every scan connect-scans
first now) for real nginx virtual hosts, closed ports and a filtered port; an open port is probed
on the connection of its connect-scan; the connector keeps one socket for every refusal, and the
per-host limit holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import time
from collections.abc import AsyncGenerator, Iterator, Sequence

import pytest

from certmgr.shared.discovery import EndpointResult, Outcome, Scope, Timeouts, parse_targets, scan
from certmgr.shared.discovery._sweep import Connector
from tests.factories.hostile import serve
from tests.factories.pki import TestPki, make_pki
from tests.factories.servers import NginxServer, free_port
from tests.integration.discovery.test_scan import collect, filtered_port

FAST = Timeouts(resolve=2, connect=0.5, handshake=1.5)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def nginx(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    d = tmp_path_factory.mktemp("nginx-precheck")
    files = pki.write(d / "pki")
    with NginxServer(
        d, cert=files["fullchainA.pem"], key=files["leafA.key"], host="127.0.0.7"
    ) as server:
        yield server


def keyed(results: Sequence[EndpointResult]) -> dict[tuple[int | None, str | None], EndpointResult]:
    return {(r.port, r.sni): r for r in results}


async def run(ports: Sequence[int], *, precheck: bool) -> list[EndpointResult]:
    results: AsyncGenerator[EndpointResult, None] = scan(
        parse_targets(["127.0.0.7"], list(ports)),
        scope=Scope.parse("127.0.0.7/32"),
        timeouts=FAST,
        extra_sni={"127.0.0.7": ["b.test"]},
        per_host=8,
        precheck=precheck,
    )
    return await collect(results)


async def test_precheck_gives_the_same_outcomes(nginx: NginxServer, pki: TestPki) -> None:
    closed = [free_port("127.0.0.7") for _ in range(3)]
    listener, fillers, filtered = filtered_port("127.0.0.7")
    try:
        started = time.monotonic()
        fast = keyed(await run([nginx.port, *closed, filtered], precheck=True))
        elapsed = time.monotonic() - started
        plain = keyed(await run([nginx.port, *closed, filtered], precheck=False))
    finally:
        listener.close()
        for s in fillers:
            s.close()
    assert elapsed < 3
    assert set(fast) == set(plain)
    for key, r in fast.items():
        assert r.outcome is plain[key].outcome, (r, plain[key])
    # the open port: probed bare and with the extra name, as without the precheck
    assert fast[(nginx.port, None)].chain == (pki.leaf_a, pki.intermediate)
    assert fast[(nginx.port, "b.test")].leaf == pki.leaf_a
    for port in closed:
        r = fast[(port, None)]
        assert r.outcome is Outcome.CLOSED and "connection refused" in (r.message or "")
        assert r.total_ms is not None and (port, "b.test") not in fast
    f = fast[(filtered, None)]
    assert f.outcome is Outcome.FILTERED and "within 0.5 s" in (f.message or ""), f


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_connector_reuses_a_refused_socket_and_hands_over_an_open_one() -> None:
    """Closed ports cost no socket each; an open port's connection goes to the probe."""
    connector = Connector()
    closed = [free_port("127.0.0.7") for _ in range(50)]
    try:
        err, sock = connector.start("127.0.0.7", closed[0])
        assert (err, sock) == (errno.ECONNREFUSED, None)
        before = open_descriptors()
        for port in closed[1:]:
            assert connector.start("127.0.0.7", port) == (errno.ECONNREFUSED, None)
        assert open_descriptors() == before  # one kept socket served every refusal
        assert connector.start("::1", free_port("::1")) == (errno.ECONNREFUSED, None)
        with socket.create_server(("127.0.0.7", 0)) as listener:
            port = listener.getsockname()[1]
            err, sock = connector.start("127.0.0.7", port)
            assert err == 0 and sock is not None
            with sock:
                served, _ = listener.accept()
                with served:
                    assert sock.getpeername() == ("127.0.0.7", port)
                    assert served.getpeername() == sock.getsockname()
            # the socket went to the caller: the next refusal is answered on a socket of its own
            assert connector.start("127.0.0.7", closed[0]) == (errno.ECONNREFUSED, None)
        full, fillers, filtered = filtered_port("127.0.0.7")
        try:
            err, sock = connector.start("127.0.0.7", filtered)
            assert err == errno.EINPROGRESS and sock is not None  # no answer yet: under way
            sock.close()
        finally:
            full.close()
            for s in fillers:
                s.close()
    finally:
        connector.close()
    assert open_descriptors() < before


async def test_per_host_limit_holds_for_the_precheck_and_its_probes() -> None:
    """At most ``per_host`` connections to one address at a time; one connection per open port."""
    now = [0]
    most = [0]
    total = [0]

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        total[0] += 1
        now[0] += 1
        most[0] = max(most[0], now[0])
        try:
            await asyncio.sleep(0.2)  # then close: the probe reports the server closing
        finally:
            now[0] -= 1

    async with contextlib.AsyncExitStack() as stack:
        ports = [await stack.enter_async_context(serve(slow, "127.0.0.8")) for _ in range(6)]
        closed = [free_port("127.0.0.8") for _ in range(20)]
        results = await collect(
            scan(
                parse_targets(["127.0.0.8"], [*ports, *closed]),
                scope=Scope.parse("127.0.0.8/32"),
                timeouts=FAST,
                per_host=2,
                precheck=True,
            )
        )
    outcomes = {r.port: r.outcome for r in results}
    assert {outcomes[p] for p in closed} == {Outcome.CLOSED}
    assert {outcomes[p] for p in ports} == {Outcome.ERROR}
    assert most[0] == 2
    assert total[0] == len(ports)  # the probe used the precheck's connection: one per open port
