"""The scan's ``precheck`` mode (a bare connect per pair before the probe) on loopback: the same
outcomes as the default mode for real nginx virtual hosts, closed ports and a filtered port, and
an open port is probed after its connect-scan.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterator, Sequence

import pytest

from certmgr.shared.discovery import EndpointResult, Outcome, Scope, Timeouts, parse_targets, scan
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
