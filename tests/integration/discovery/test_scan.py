"""The discovery scan on loopback: real nginx virtual hosts among closed ports, a listener outside
the scope that must never be contacted, and hostile servers that each give a clear outcome.

Only 127.0.0.0/8 is used (Linux routes all of it to lo); servers start from synchronous fixtures.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct
import time
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import aclosing
from pathlib import Path

import pytest
from cryptography import x509

from certmgr.shared.discovery import (
    EndpointResult,
    Outcome,
    Scope,
    Timeouts,
    parse_targets,
    scan,
)
from certmgr.shared.discovery.targets import IPAddress
from certmgr.shared.errors import InputTooLargeError, ValidationError
from tests.factories.hostile import Handler, recorder, serve
from tests.factories.pki import TestPki, make_leaf, make_pki, write_pem
from tests.factories.servers import NginxServer, free_port

FAST = Timeouts(resolve=2, connect=0.5, handshake=1.5)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def vhosts(
    pki: TestPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[NginxServer, NginxServer, x509.Certificate]]:
    """nginx on 127.0.0.2 (default leaf-A, virtual host b.test) and on 127.0.0.3 (leaf-B)."""
    d = tmp_path_factory.mktemp("nginx")
    files = pki.write(d / "pki")
    key_b, cert_b = make_leaf(pki.int_key, pki.intermediate, "b.test", ["b.test"])
    sni = {
        "b.test": (write_pem(d / "b.pem", cert_b, pki.intermediate), write_pem(d / "b.key", key_b))
    }
    with (
        NginxServer(
            d, cert=files["fullchainA.pem"], key=files["leafA.key"], host="127.0.0.2", sni_certs=sni
        ) as a,
        NginxServer(d, cert=files["fullchainB.pem"], key=files["leafB.key"], host="127.0.0.3") as b,
    ):
        yield a, b, cert_b


async def collect(results: AsyncGenerator[EndpointResult, None]) -> list[EndpointResult]:
    async with aclosing(results) as it:
        return [r async for r in it]


def by_key(
    results: Sequence[EndpointResult],
) -> dict[tuple[str, int | None, str | None], EndpointResult]:
    return {(r.address or r.target, r.port, r.sni): r for r in results}


async def test_virtual_hosts_closed_ports_and_names(
    vhosts: tuple[NginxServer, NginxServer, x509.Certificate], pki: TestPki
) -> None:
    a, b, cert_b = vhosts
    closed = free_port("127.0.0.2")

    async def resolve(name: str) -> Sequence[IPAddress]:
        return [ipaddress.ip_address("127.0.0.2")] if name == "www.test" else []

    spec = parse_targets(["127.0.0.2-3", "www.test", "nowhere.test"], [a.port, b.port, closed])
    started = time.monotonic()
    results = await collect(
        scan(
            spec,
            scope=Scope.parse("127.0.0.0/28"),
            timeouts=FAST,
            extra_sni={"127.0.0.2": ["b.test", "c.test"], "127.0.0.3": ["b.test"]},
            resolve=resolve,
        )
    )
    assert time.monotonic() - started < 10
    got = by_key(results)
    # 127.0.0.2 serves leaf-A bare and for unknown names, the b.test certificate for b.test
    assert got[("127.0.0.2", a.port, None)].chain == (pki.leaf_a, pki.intermediate)
    assert got[("127.0.0.2", a.port, "b.test")].chain == (cert_b, pki.intermediate)
    assert got[("127.0.0.2", a.port, "c.test")].leaf == pki.leaf_a
    assert got[("127.0.0.3", b.port, None)].chain == (pki.leaf_b, pki.intermediate)
    assert got[("127.0.0.3", b.port, "b.test")].leaf == pki.leaf_b  # one server block only
    # a name is probed at its address with its own SNI
    www = got[("127.0.0.2", a.port, "www.test")]
    assert www.target == "www.test" and www.leaf == pki.leaf_a and www.outcome is Outcome.TLS
    # closed ports answer at once, and no extra names are tried on them
    for key in [
        ("127.0.0.2", b.port, None),
        ("127.0.0.3", a.port, None),
        ("127.0.0.2", closed, None),
    ]:
        assert got[key].outcome is Outcome.CLOSED, got[key]
    assert ("127.0.0.2", closed, "b.test") not in got
    nowhere = [r for r in results if r.target == "nowhere.test"]
    assert (
        len(nowhere) == 1 and nowhere[0].outcome is Outcome.UNRESOLVED and nowhere[0].port is None
    )
    for r in results:
        if r.outcome is Outcome.TLS:
            assert r.protocol in ("TLSv1.2", "TLSv1.3") and r.cipher and r.handshake_ms is not None
            assert r.connect_ms is not None and r.total_ms is not None and r.starttls is None
    assert len(results) == 2 * 3 + 2 + 1 + 3 + 1  # pairs, extra names on open ports, www, nowhere


# --- scope: nothing outside it is contacted ---------------------------------------------------------
async def test_nothing_outside_the_scope_is_contacted() -> None:
    seen: list[str] = []
    port = free_port("127.0.0.9")
    async with serve(recorder(seen), "127.0.0.9", port), serve(recorder(seen), "127.0.0.5", port):

        async def resolve(name: str) -> Sequence[IPAddress]:
            table = {"evil.test": ["127.0.0.5", "127.0.0.9"], "fine.test": ["127.0.0.5"]}
            return [ipaddress.ip_address(a) for a in table.get(name, [])]

        spec = parse_targets(
            ["127.0.0.4-127.0.0.12", "127.0.0.9", "127.0.1.0/24", "evil.test", "fine.test"],
            [port, port + 1],
        )
        results = await collect(
            scan(
                spec,
                scope=Scope.parse("127.0.0.0/29"),
                timeouts=FAST,
                concurrency=16,
                resolve=resolve,
            )
        )
    assert "127.0.0.9" not in seen  # the listener outside the scope saw nothing
    assert seen.count("127.0.0.5") == 2  # the control inside it was reached: by address and by name
    outside = {r.target for r in results if r.outcome is Outcome.OUT_OF_SCOPE}
    assert outside == {
        "127.0.0.8",
        "127.0.0.9",
        "127.0.0.10",
        "127.0.0.11",
        "127.0.0.12",
        "127.0.1.0/24",
        "evil.test",
    }
    evil = next(r for r in results if r.target == "evil.test")
    assert "127.0.0.9" in (evil.message or "") and evil.port is None
    assert all(r.port is None for r in results if r.outcome is Outcome.OUT_OF_SCOPE)
    assert len([r for r in results if r.target == "127.0.0.9"]) == 2  # the range and the address


async def test_name_patterns_narrow_the_scope() -> None:
    async def resolve(name: str) -> Sequence[IPAddress]:
        return [ipaddress.ip_address("127.0.0.6")]

    spec = parse_targets(["a.good.test", "a.bad.test"], [free_port("127.0.0.6")])
    results = await collect(
        scan(spec, scope=Scope.parse("127.0.0.0/29 *.good.test"), timeouts=FAST, resolve=resolve)
    )
    outcome = {r.target: r.outcome for r in results}
    assert outcome == {"a.good.test": Outcome.CLOSED, "a.bad.test": Outcome.OUT_OF_SCOPE}


# --- hostile servers: each a clear outcome, and the scan ends in bounded time -----------------------
def _server_hello_then_huge_certificate() -> bytes:
    """A TLS 1.2 ServerHello, then the start of a Certificate message claiming 16 MB."""
    ext = b"\xff\x01\x00\x01\x00"  # renegotiation_info (empty)
    body = (
        b"\x03\x03"
        + os.urandom(32)
        + b"\x00"
        + b"\xc0\x2b"
        + b"\x00"
        + struct.pack("!H", len(ext))
        + ext
    )
    hello = b"\x02" + len(body).to_bytes(3, "big") + body
    cert = (
        b"\x0b"
        + (0xFFFFFF).to_bytes(3, "big")
        + (0xFFFFFC).to_bytes(3, "big")
        + (0xFFFFF9).to_bytes(3, "big")
    )
    payload = hello + cert
    return b"\x16\x03\x03" + struct.pack("!H", len(payload)) + payload


def huge_certificate(sent: list[int]) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)  # the ClientHello
        writer.write(_server_hello_then_huge_certificate())
        record = b"\x16\x03\x03\x40\x00" + b"\x30" * 16384
        total = 0
        while total < 100 * 1024 * 1024:
            writer.write(record)
            total += len(record)
            sent[0] = total
            await writer.drain()
            await asyncio.sleep(0)

    return handler


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
    await writer.drain()
    await reader.read()


async def stall_mid_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.write(_server_hello_then_huge_certificate()[:20])  # half a record, then nothing
    await writer.drain()
    await reader.read()


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def close_after_client_hello(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.read(65536)


async def close_mid_server_hello(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.read(65536)
    writer.write(_server_hello_then_huge_certificate()[:30])
    await writer.drain()


async def smtp_no_starttls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 mx ESMTP\r\n")
    await reader.readline()
    writer.write(b"250-mx\r\n250 SIZE 1000\r\n")
    await writer.drain()
    await reader.read()


async def smtp_close_after_greeting(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(b"220 mx ESMTP\r\n")
    await writer.drain()


def filtered_port(host: str) -> tuple[socket.socket, list[socket.socket], int]:
    """A listener whose accept queue is full: further SYNs are dropped, as by a firewall."""
    listener = socket.socket()
    listener.bind((host, 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers: list[socket.socket] = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((host, port))
        fillers.append(s)
    time.sleep(0.05)
    return listener, fillers, port


async def test_hostile_servers_each_give_their_outcome() -> None:
    sent = [0]
    handlers: list[tuple[Handler, Outcome, str]] = [
        (garbage, Outcome.NO_TLS, "does not speak TLS"),
        (stall_mid_handshake, Outcome.TIMEOUT, "did not finish the TLS handshake within 1.5 s"),
        (huge_certificate(sent), Outcome.TOO_LARGE, ""),
        (close_at_once, Outcome.ERROR, "the server"),
        (close_after_client_hello, Outcome.ERROR, "the server"),
        (close_mid_server_hello, Outcome.ERROR, "the server"),
        (smtp_no_starttls, Outcome.STARTTLS_REFUSED, "does not offer STARTTLS"),
        (
            smtp_close_after_greeting,
            Outcome.ERROR,
            "closed the connection during the SMTP dialogue",
        ),
    ]
    host = "127.0.0.4"
    listener, fillers, filtered = filtered_port(host)
    try:
        ports: list[int] = []
        contexts = [serve(h, host) for h, _, _ in handlers]
        entered = [await c.__aenter__() for c in contexts]
        ports.extend(entered)
        try:
            starttls = {ports[6]: "smtp", ports[7]: "smtp"}
            spec = parse_targets([host], [*ports, filtered])
            started = time.monotonic()
            results = await collect(
                scan(
                    spec,
                    scope=Scope.parse("127.0.0.4/32"),
                    timeouts=FAST,
                    starttls=starttls,
                    per_host=16,
                )
            )
            elapsed = time.monotonic() - started
        finally:
            for c in reversed(contexts):
                await c.__aexit__(None, None, None)
    finally:
        listener.close()
        for s in fillers:
            s.close()
    got = {r.port: r for r in results}
    assert elapsed < 5  # all in parallel: the slowest is a 1.5 s handshake deadline
    for port, (_, outcome, words) in zip(ports, handlers, strict=True):
        r = got[port]
        assert r.outcome is outcome, (outcome, r)
        assert words in (r.message or ""), r.message
        assert r.chain == ()
    assert got[ports[6]].starttls == "smtp"
    assert 0 < sent[0] < 10 * 1024 * 1024  # the 100 MB "certificate" was cut off early
    assert got[filtered].outcome is Outcome.FILTERED, got[filtered]
    assert "within 0.5 s" in (got[filtered].message or "")


# --- bounds: arguments, size limit, flat memory -------------------------------------------------------
async def test_bad_arguments_and_size_limit() -> None:
    spec = parse_targets("127.0.0.0/24", "443,8443")
    scope = Scope.parse("127.0.0.0/8")
    with pytest.raises(
        InputTooLargeError, match="512 address:port pairs, 12 more than the limit of 500"
    ):
        await collect(scan(spec, scope=scope, max_pairs=500))
    for kwargs in (
        {"concurrency": 0},
        {"per_host": 0},
        {"concurrency": 4, "per_host": 8},
        {"extra_sni": {"not-an-ip": ["a.test"]}},
        {"extra_sni": {"127.0.0.1": [".bad"]}},
        {"starttls": {25: "gopher"}},
    ):
        with pytest.raises(ValidationError):
            await collect(scan(spec, scope=scope, **kwargs))
    with pytest.raises(ValidationError):
        Timeouts(connect=0)


async def test_closing_early_cancels_everything() -> None:
    seen: list[str] = []

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append("x")
        await reader.read()

    async with serve(slow, "127.0.0.7") as port:
        spec = parse_targets("127.0.0.7", [port] * 1 + [free_port("127.0.0.7")])
        async with aclosing(
            scan(spec, scope=Scope.parse("127.0.0.7"), timeouts=Timeouts(handshake=30))
        ) as it:
            first = await anext(it)
        assert first.outcome is Outcome.CLOSED
    # leaving the block closed the scan: the stalled probe was cancelled, no task is left
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def test_sixteen_million_pairs_start_at_once_in_flat_memory() -> None:
    """A /8 (2**24 pairs) streams: materialising it would take many seconds and gigabytes."""
    port = free_port("127.0.0.1")
    spec = parse_targets("127.0.0.0/8", [port])
    before = rss_bytes()
    outcomes: list[Outcome] = []
    async with aclosing(
        scan(spec, scope=Scope.parse("127.0.0.0/8"), timeouts=Timeouts(connect=5), concurrency=32)
    ) as it:
        async for r in it:
            outcomes.append(r.outcome)
            if len(outcomes) == 500:
                break
    assert spec.count() == 2**24
    # 127.0.0.0 itself may answer otherwise, and on a loaded host a loopback connect can time out
    assert outcomes.count(Outcome.CLOSED) >= 450
    # streamed, not materialised: 2**24 pairs held at once would take gigabytes
    assert rss_bytes() - before < 50 * 1024 * 1024
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
