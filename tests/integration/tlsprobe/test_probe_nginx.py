"""The probe and the deploy-check verdict against a real nginx (and the SMTP sink) on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from pathlib import Path

import pytest

from certmgr.shared.deploycheck import evaluate
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.tlsprobe import probe
from tests.factories.pki import TestPki, make_ca, make_leaf, make_pki, write_pem
from tests.factories.servers import NginxServer, wait_for_leaf
from tests.factories.smtp import SmtpSink


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def files(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pki.write(tmp_path_factory.mktemp("pki"))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_right_certificate_and_chain(
    tmp_path: Path, pki: TestPki, files: dict[str, Path]
) -> None:
    async with NginxServer(tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"]) as nginx:
        r = await probe("127.0.0.1", nginx.port, sni="localhost", timeout=5, trust_roots=[pki.root])
    assert r.ok and r.chain == (pki.leaf_a, pki.intermediate)
    assert r.verified is True and r.hostname_matches and r.protocol in ("TLSv1.2", "TLSv1.3")
    out = evaluate(r, sha256_fingerprint(pki.leaf_a), [pki.intermediate, pki.root], now=now())
    assert out.ok, out.problems
    assert (
        out.matches_current
        and out.chain_complete
        and out.chain_in_order
        and out.days_left in (29, 30)
    )


async def test_other_certificate_is_a_mismatch(
    tmp_path: Path, pki: TestPki, files: dict[str, Path]
) -> None:
    async with NginxServer(tmp_path, cert=files["fullchainB.pem"], key=files["leafB.key"]) as nginx:
        r = await probe("127.0.0.1", nginx.port, sni="localhost", timeout=5)
    out = evaluate(r, sha256_fingerprint(pki.leaf_a), [pki.intermediate], now=now())
    assert not out.ok and not out.matches_current and out.chain_complete
    assert out.served_sha256 == sha256_fingerprint(pki.leaf_b)
    assert "served certificate is not the current one" in out.problems[0]


async def test_reload_serves_the_new_certificate(
    tmp_path: Path, pki: TestPki, files: dict[str, Path]
) -> None:
    async with NginxServer(tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"]) as nginx:
        nginx.cert_path.write_bytes(files["fullchainB.pem"].read_bytes())
        nginx.key_path.write_bytes(files["leafB.key"].read_bytes())
        assert (await asyncio.to_thread(nginx.test_config)).returncode == 0
        await asyncio.to_thread(nginx.reload)
        assert await asyncio.to_thread(
            wait_for_leaf, "127.0.0.1", nginx.port, sha256_fingerprint(pki.leaf_b)
        )
        r = await probe("127.0.0.1", nginx.port, sni="localhost", timeout=5)
    assert r.leaf == pki.leaf_b


async def test_leaf_without_intermediate(
    tmp_path: Path, pki: TestPki, files: dict[str, Path]
) -> None:
    async with NginxServer(tmp_path, cert=files["leafA.pem"], key=files["leafA.key"]) as nginx:
        r = await probe("127.0.0.1", nginx.port, sni="localhost", timeout=5, trust_roots=[pki.root])
    assert r.chain == (pki.leaf_a,) and r.verified is False
    out = evaluate(r, sha256_fingerprint(pki.leaf_a), [pki.intermediate, pki.root], now=now())
    assert not out.ok and out.matches_current and not out.chain_complete
    assert out.missing_intermediates == ["CN=Test Intermediate"]
    assert "intermediate CN=Test Intermediate is not served" in out.problems


@pytest.mark.parametrize("order", ["leaf-root-intermediate", "leaf-unrelated"])
async def test_misordered_chains(
    tmp_path: Path, pki: TestPki, files: dict[str, Path], order: str
) -> None:
    extra = (
        [pki.root, pki.intermediate]
        if order == "leaf-root-intermediate"
        else [make_ca("Unrelated CA")[1]]
    )
    cert = write_pem(tmp_path / "served.pem", pki.leaf_a, *extra)
    async with NginxServer(tmp_path, cert=cert, key=files["leafA.key"]) as nginx:
        r = await probe("127.0.0.1", nginx.port, sni="localhost", timeout=5)
    assert r.chain == (pki.leaf_a, *extra)  # exactly as served
    out = evaluate(r, sha256_fingerprint(pki.leaf_a), [pki.intermediate, pki.root], now=now())
    assert not out.chain_in_order and not out.ok and out.matches_current
    if order == "leaf-unrelated":
        assert out.extra_certs == ["CN=Unrelated CA"] and out.missing_intermediates == [
            "CN=Test Intermediate"
        ]
    else:
        assert out.chain_complete and any(
            p.startswith("chain is out of order") for p in out.problems
        )


async def test_stopped_server_is_unreachable(
    tmp_path: Path, pki: TestPki, files: dict[str, Path]
) -> None:
    async with NginxServer(tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"]) as nginx:
        port = nginx.port
    r = await probe("127.0.0.1", port, sni="localhost", timeout=5)
    assert not r.reachable and r.error_kind == "refused"
    out = evaluate(r, sha256_fingerprint(pki.leaf_a), now=now())
    assert not out.ok and out.problems[0].startswith("host unreachable: connection refused")


async def test_ipv6_listener(tmp_path: Path, pki: TestPki, files: dict[str, Path]) -> None:
    async with NginxServer(
        tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"], extra_listen_v6=True
    ) as nginx:
        v6 = await probe("::1", nginx.port, sni="localhost", family=socket.AF_INET6, timeout=5)
        both = await probe("localhost", nginx.port, timeout=5)
    assert v6.ok and v6.address == "::1" and v6.leaf == pki.leaf_a
    assert both.ok and both.sni == "localhost" and both.leaf == pki.leaf_a


async def test_sni_selects_the_server_block(
    tmp_path: Path, pki: TestPki, files: dict[str, Path]
) -> None:
    key_b, leaf_b = make_leaf(pki.int_key, pki.intermediate, "b.test", ["b.test"])
    sni_certs = {
        "b.test": (
            write_pem(tmp_path / "b.pem", leaf_b, pki.intermediate),
            write_pem(tmp_path / "b.key", key_b),
        )
    }
    async with NginxServer(
        tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"], sni_certs=sni_certs
    ) as nginx:
        a = await probe("127.0.0.1", nginx.port, sni="localhost", timeout=5)
        b = await probe("127.0.0.1", nginx.port, sni="b.test", timeout=5, trust_roots=[pki.root])
        unknown = await probe("127.0.0.1", nginx.port, sni="c.test", timeout=5)
    assert a.leaf == pki.leaf_a and a.hostname_matches
    assert b.chain == (leaf_b, pki.intermediate) and b.hostname_matches and b.verified
    assert unknown.leaf == pki.leaf_a and not unknown.hostname_matches  # the default server answers
    out = evaluate(unknown, sha256_fingerprint(pki.leaf_a), now=now())
    # fingerprint first: the right certificate on the wrong name is a warning, not a failure
    assert out.ok and "the served certificate does not cover the name c.test" in out.warnings


async def test_expired_leaf(tmp_path: Path, pki: TestPki) -> None:
    past = now() - dt.timedelta(days=60)
    key, old = make_leaf(
        pki.int_key,
        pki.intermediate,
        "expired",
        ["localhost"],
        not_before=past,
        not_after=past + dt.timedelta(days=30),
    )
    cert = write_pem(tmp_path / "old.pem", old, pki.intermediate)
    async with NginxServer(tmp_path, cert=cert, key=write_pem(tmp_path / "old.key", key)) as nginx:
        r = await probe("127.0.0.1", nginx.port, sni="localhost", timeout=5, trust_roots=[pki.root])
    assert r.ok and r.leaf == old and r.verified is False and "expired" in (r.verify_error or "")
    out = evaluate(r, sha256_fingerprint(old), [pki.intermediate], now=now())
    assert out.days_left is not None and out.days_left <= -29 and not out.ok


async def test_starttls_against_the_smtp_sink(pki: TestPki, files: dict[str, Path]) -> None:
    async with SmtpSink(files["fullchainA.pem"], files["leafA.key"]) as sink:
        r = await probe(
            "127.0.0.1",
            sink.port,
            sni="localhost",
            starttls="smtp",
            timeout=5,
            trust_roots=[pki.root],
        )
        plain = await probe("127.0.0.1", sink.port, timeout=2)
    assert r.ok and r.chain == (pki.leaf_a, pki.intermediate) and r.verified and r.hostname_matches
    assert plain.reachable and plain.error_kind == "handshake"  # a plain SMTP banner is not TLS
    assert "does not speak TLS" in (plain.error or "")
