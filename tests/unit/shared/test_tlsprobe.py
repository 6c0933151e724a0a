"""The TLS probe against in-process servers on loopback: well-behaved, hostile and odd."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certmgr.shared.errors import HandshakeError, PeerRefusedError, ResolveError, ValidationError
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.tlsprobe import probe, probe_or_raise
from certmgr.shared.tlstrust import name_matches, verify_chain
from tests.factories.pki import TestPki, make_ca, make_leaf, make_pki, write_pem
from tests.factories.servers import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def files(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pki.write(tmp_path_factory.mktemp("pki"))


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def drain_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.read(65536):
            pass
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()


@asynccontextmanager
async def serve(
    handler: Handler, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    """A loopback server; yields its port. Handler tasks are cancelled at the end."""
    tasks: set[asyncio.Task[None]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (OSError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()
            tasks.discard(task)

    server = await asyncio.start_server(run, host, 0, ssl=tls)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


# --- a well-behaved TLS server ---------------------------------------------------------------------
async def test_full_chain_protocol_cipher_and_trust(pki: TestPki, files: dict[str, Path]) -> None:
    ctx = server_context(files["fullchainA.pem"], files["leafA.key"])
    async with serve(drain_then_close, tls=ctx) as port:
        r = await probe("127.0.0.1", port, sni="localhost", trust_roots=[pki.root], timeout=5)
    assert r.ok and r.error is None and r.error_kind is None
    assert r.reachable and r.address == "127.0.0.1" and r.sni == "localhost"
    assert [c.subject.rfc4514_string() for c in r.chain] == ["CN=leaf-A", "CN=Test Intermediate"]
    assert r.leaf == pki.leaf_a and r.leaf_sha256 == sha256_fingerprint(pki.leaf_a)
    assert r.protocol == "TLSv1.3" and r.cipher
    assert r.connect_ms is not None and r.handshake_ms is not None and r.handshake_ms >= 0
    assert r.verified is True and r.verify_error is None
    assert r.hostname_matches


async def test_untrusted_and_wrong_name_are_reported_not_refused(
    pki: TestPki, files: dict[str, Path]
) -> None:
    other_root = make_ca("Other Root")[1]
    ctx = server_context(files["fullchainA.pem"], files["leafA.key"])
    async with serve(drain_then_close, tls=ctx) as port:
        r = await probe(
            "127.0.0.1", port, sni="www.example.test", trust_roots=[other_root], timeout=5
        )
    assert r.ok and r.leaf == pki.leaf_a
    assert r.verified is False and "trusted root" in (r.verify_error or "")
    assert not r.hostname_matches


async def test_ip_host_sends_no_sni_and_matches_ip_san(files: dict[str, Path]) -> None:
    seen: list[str | None] = []
    ctx = server_context(files["fullchainA.pem"], files["leafA.key"])
    ctx.sni_callback = lambda _sock, name, _ctx: seen.append(name)
    async with serve(drain_then_close, tls=ctx) as port:
        r = await probe("127.0.0.1", port, timeout=5)
    assert r.ok and r.sni is None and seen == [None]
    assert r.hostname_matches  # IP SAN 127.0.0.1


async def test_self_signed_is_seen(tmp_path: Path) -> None:
    key, cert = make_leaf(None, None, "self-signed", ["localhost"])
    ctx = server_context(write_pem(tmp_path / "c.pem", cert), write_pem(tmp_path / "k.pem", key))
    async with serve(drain_then_close, tls=ctx) as port:
        r = await probe("localhost", port, timeout=5, family=socket.AF_INET)
    assert r.ok and r.chain == (cert,) and r.sni == "localhost"
    assert r.verified is False  # not in the system store


async def test_ipv6_loopback(files: dict[str, Path], pki: TestPki) -> None:
    ctx = server_context(files["fullchainB.pem"], files["leafB.key"])
    async with serve(drain_then_close, host="::1", tls=ctx) as port:
        r = await probe("::1", port, timeout=5, family=socket.AF_INET6, trust_roots=[pki.root])
    assert (
        r.ok and r.address == "::1" and r.leaf == pki.leaf_b and r.verified and r.hostname_matches
    )


async def test_own_byte_cap(files: dict[str, Path]) -> None:
    ctx = server_context(files["fullchainA.pem"], files["leafA.key"])
    async with serve(drain_then_close, tls=ctx) as port:
        r = await probe("127.0.0.1", port, timeout=5, max_chain_bytes=300)
    assert r.error_kind == "too-large" and r.reachable and r.chain == ()


# --- nothing there, wrong family, bad arguments ----------------------------------------------------
async def test_refused() -> None:
    r = await probe("127.0.0.1", free_port(), timeout=5)
    assert not r.reachable and r.error_kind == "refused"
    assert r.error is not None and r.error.startswith("connection refused")
    with pytest.raises(PeerRefusedError):
        await probe_or_raise("127.0.0.1", free_port(), timeout=5)


async def test_address_family_mismatch_is_a_resolve_error() -> None:
    r = await probe("127.0.0.1", 443, family=socket.AF_INET6, timeout=5)
    assert r.error_kind == "resolve" and not r.reachable
    with pytest.raises(ResolveError):
        await probe_or_raise("127.0.0.1", 443, family=socket.AF_INET6, timeout=5)


async def test_bad_arguments() -> None:
    with pytest.raises(ValidationError):
        await probe("127.0.0.1", 443, starttls="gopher")
    with pytest.raises(ValidationError):
        await probe("127.0.0.1", 0)
    with pytest.raises(ValidationError):
        await probe("127.0.0.1", 443, sni=".bad")
    with pytest.raises(ValidationError):
        await probe(" ", 443)


async def test_empty_sni_sends_none_and_brackets_are_accepted(files: dict[str, Path]) -> None:
    seen: list[str | None] = []
    ctx = server_context(files["fullchainA.pem"], files["leafA.key"])
    ctx.sni_callback = lambda _sock, name, _ctx: seen.append(name)
    async with serve(drain_then_close, host="::1", tls=ctx) as port:
        r = await probe("[::1]", port, sni="", timeout=5)
    assert r.ok and r.sni is None and seen == [None] and r.address == "::1"


# --- hostile servers: always a result, within the timeout ------------------------------------------
async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the probe gives up


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def reset_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await reader.read(1)  # the ClientHello has arrived
    writer.transport.abort()


async def http_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    await reader.read()


async def endless_noise(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        writer.write(bytes(range(256)) * 256)  # deterministic non-TLS bytes
        await writer.drain()


@pytest.mark.parametrize(
    ("handler", "kind"),
    [
        (close_at_once, "reset"),
        (reset_at_once, "reset"),
        (http_answer, "handshake"),
        (endless_noise, "handshake"),
    ],
)
async def test_hostile_servers(handler: Handler, kind: str) -> None:
    async with serve(handler) as port:
        started = time.monotonic()
        r = await probe("127.0.0.1", port, sni="localhost", timeout=3)
    assert time.monotonic() - started < 3.5
    assert r.reachable and r.error_kind == kind and r.error and r.chain == ()
    assert r.protocol is None and r.verified is None


async def test_silent_server_times_out_on_time() -> None:
    async with serve(silent) as port:
        started = time.monotonic()
        r = await probe("127.0.0.1", port, timeout=0.5)
        elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 0.5 + 0.5
    assert r.reachable and r.error_kind == "timeout" and "TLS handshake" in (r.error or "")


async def test_garbage_raises_handshake_error() -> None:
    async with serve(http_answer) as port:
        with pytest.raises(HandshakeError, match="does not speak TLS"):
            await probe_or_raise("127.0.0.1", port, timeout=3)


async def test_huge_chain_is_refused_not_hung(pki: TestPki, tmp_path: Path) -> None:
    blob = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\0" * 300_000)
    key, leaf = make_leaf(
        pki.int_key, pki.intermediate, "huge", ["localhost"], extra_extensions=[blob]
    )
    ctx = server_context(
        write_pem(tmp_path / "c.pem", leaf, pki.intermediate), write_pem(tmp_path / "k.pem", key)
    )
    async with serve(drain_then_close, tls=ctx) as port:
        started = time.monotonic()
        r = await probe("127.0.0.1", port, sni="localhost", timeout=5)
    assert time.monotonic() - started < 5
    assert r.reachable and r.error_kind == "too-large" and r.chain == ()


def with_x509_version(cert: x509.Certificate, version: int) -> bytes:
    """``cert``'s DER with its version field set to ``version`` (cryptography then refuses it)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    field = b"\xa0\x03\x02\x01\x02"  # [0] EXPLICIT INTEGER 2 (v3), early in the TBS
    at = der.index(field)
    return der[:at] + field[:-1] + bytes([version]) + der[at + len(field) :]


async def test_a_certificate_of_an_unknown_x509_version_is_a_result_not_a_crash(
    pki: TestPki, tmp_path: Path
) -> None:
    # OpenSSL serves it; cryptography raises InvalidVersion, which is not a ValueError
    bad = with_x509_version(pki.leaf_a, 57)
    (tmp_path / "c.pem").write_bytes(
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bad) + b"-----END CERTIFICATE-----\n"
    )
    ctx = server_context(tmp_path / "c.pem", write_pem(tmp_path / "k.pem", pki.leaf_a_key))
    async with serve(drain_then_close, tls=ctx) as port:
        r = await probe("127.0.0.1", port, sni="localhost", timeout=5)
    assert r.reachable and r.error_kind == "handshake" and r.chain == ()
    assert r.error is not None and "certificate 1 sent by the server cannot be read" in r.error


# --- STARTTLS against small fake SMTP servers (the real sink is in the integration suite) -----------
def smtp_server(ehlo_lines: list[bytes]) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 fake ESMTP\r\n")
        await reader.readline()
        writer.write(b"".join(ehlo_lines))
        await writer.drain()
        await reader.read()

    return handler


async def test_starttls_not_offered() -> None:
    async with serve(smtp_server([b"250-fake\r\n", b"250 SIZE 1000\r\n"])) as port:
        r = await probe("127.0.0.1", port, starttls="smtp", timeout=3)
    assert r.error_kind == "starttls" and "does not offer STARTTLS" in (r.error or "")
    with pytest.raises(HandshakeError):
        async with serve(smtp_server([b"250 fake\r\n"])) as port:
            await probe_or_raise("127.0.0.1", port, starttls="smtp", timeout=3)


async def test_starttls_against_non_smtp_and_silent_servers() -> None:
    async with serve(http_answer) as port:
        r = await probe("127.0.0.1", port, starttls="smtp", timeout=3)
    assert r.error_kind == "starttls" and "does not speak SMTP" in (r.error or "")
    async with serve(silent) as port:
        r = await probe("127.0.0.1", port, starttls="smtp", timeout=0.4)
    assert r.error_kind == "timeout" and "STARTTLS" in (r.error or "")


# --- name matching and trust, offline ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("sans", "name", "expected"),
    [
        (["www.example.com"], "WWW.Example.com.", True),
        (["*.example.com"], "www.example.com", True),
        (["*.example.com"], "example.com", False),
        (["*.example.com"], "a.b.example.com", False),
        (["*.com"], "example.com", False),
        (["w*.example.com"], "www.example.com", False),
        (["xn--bcher-kva.example"], "bücher.example", True),
        (["127.0.0.1"], "127.0.0.1", True),
        (["localhost"], "127.0.0.1", False),
        (["::1"], "[::1]", True),
        ([], "localhost", False),
    ],
)
def test_name_matches(pki: TestPki, sans: list[str], name: str, expected: bool) -> None:
    _, cert = make_leaf(pki.int_key, pki.intermediate, "n", sans)
    assert name_matches(cert, name) is expected


def test_verify_chain_cases(pki: TestPki) -> None:
    assert verify_chain([pki.leaf_a, pki.intermediate], [pki.root], "localhost") == (True, None)
    # trust is judged apart from the name
    assert verify_chain([pki.leaf_a, pki.intermediate], [pki.root], "other.test") == (True, None)
    ok, why = verify_chain([pki.leaf_a], [pki.root], "localhost")
    assert ok is False and "trusted root" in (why or "")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    _, old = make_leaf(
        pki.int_key,
        pki.intermediate,
        "old",
        ["localhost"],
        not_before=past,
        not_after=past + dt.timedelta(days=5),
    )
    ok, why = verify_chain([old, pki.intermediate], [pki.root], "localhost")
    assert ok is False and "expired" in (why or "")
    assert verify_chain([pki.leaf_a], [], "localhost") == (None, "no trust roots available")
    assert verify_chain([], [pki.root]) == (None, "no certificate to verify")


def test_ip_literals_need_no_resolver() -> None:
    import socket

    from certmgr.shared._tlswire import _literal

    assert _literal("127.0.0.1", 443, 0) == [
        (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 443))
    ]
    assert _literal("::1", 8443, socket.AF_INET6)[0][4] == ("::1", 8443, 0, 0)
    assert _literal("0:0::1", 1, 0)[0][4][0] == "::1"
    for host, family in (
        ("www.example.com", 0),  # a name: the resolver answers
        ("127.0.0.1", socket.AF_INET6),  # family mismatch: the resolver's error is the answer
        ("fe80::1%lo", 0),  # scoped: the resolver knows the interface
        ("127.1", 0),  # inet_aton shorthand: left to the resolver, as before
    ):
        assert _literal(host, 443, family) == [], host


def test_verify_chain_judges_a_malformed_certificate_untrusted(pki: TestPki) -> None:
    # Found by fuzzing served chains: an invalid UTF-8 byte in the subject (with the TBS
    # signature algorithm changed) loads, since names are read lazily, but the verifier reads
    # the subject strictly and raised ValueError, which the probe let escape.
    der = bytearray(pki.leaf_a.public_bytes(serialization.Encoding.DER))
    der[der.index(b"\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02") + 2] = 0x30
    der[der.index(b"leaf-A") + 1] = 0xAC
    broken = x509.load_der_x509_certificate(bytes(der))
    ok, why = verify_chain([broken, pki.intermediate], [pki.root], "localhost")
    assert ok is False and why is not None and "malformed" in why


def test_verify_chain_builds_each_set_of_anchors_once(
    pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.x509.verification import Store

    import certmgr.shared.tlstrust as tlstrust

    built: list[int] = []

    def counting_store(certs: list[x509.Certificate]) -> Store:
        built.append(len(certs))
        return Store(certs)

    monkeypatch.setattr(tlstrust, "Store", counting_store)
    monkeypatch.setattr(tlstrust, "_STORES", {})
    chain = [pki.leaf_a, pki.intermediate]
    anchors = (pki.root,)
    for _ in range(5):  # a monitoring run: one set of anchors, many chains
        assert verify_chain(chain, anchors, "localhost") == (True, None)
    assert built == [1]
    # other anchors never get the first set's store, not even in a list of the same length
    _, other_root = make_ca("Other Root")
    ok, why = verify_chain(chain, [other_root], "localhost")
    assert ok is False and "trusted root" in (why or "")
    assert verify_chain(chain, [pki.root], "localhost") == (True, None)  # same object: cached
    assert built == [1, 1]
