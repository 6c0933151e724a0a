"""The check verdict on a real loopback TLS server whose intermediate is expired or not yet valid.

A client that cannot build another path rejects such a chain even though the leaf itself is in
date; before, the verdict said nothing of it. It is a warning naming the intermediate and its
date (an expired cross-signed copy of a root clients hold anyway is common and harmless).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from certmgr.shared.deploycheck import CheckOutcome, evaluate
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.tlsprobe import probe
from tests.factories.pki import PrivateKey, TestPki, make_key, make_leaf, make_pki, write_pem

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


def dated_intermediate(
    pki: TestPki, cn: str, start: dt.datetime, end: dt.datetime
) -> tuple[PrivateKey, x509.Certificate]:
    key = make_key("ec")
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(pki.root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(pki.root_key.public_key()),
            critical=False,
        )
        .sign(pki.root_key, hashes.SHA256())
    )
    return key, cert


async def check_served(
    tmp_path: Path, pki: TestPki, start: dt.datetime, end: dt.datetime, *, fingerprint_only: bool
) -> CheckOutcome:
    int_key, intermediate = dated_intermediate(pki, "Dated Intermediate", start, end)
    leaf_key, leaf = make_leaf(int_key, intermediate, "leaf-D", ["localhost"])
    chain = write_pem(tmp_path / "chain.pem", leaf, intermediate)
    key = write_pem(tmp_path / "leaf.key", leaf_key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(chain, key)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(65536)
        except (OSError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ctx)
    try:
        port = int(server.sockets[0].getsockname()[1])
        result = await probe("127.0.0.1", port, sni="localhost", trust_roots=[pki.root], timeout=5)
    finally:
        server.close()
        await server.wait_closed()
    assert [c for c in result.chain] == [leaf, intermediate]
    return evaluate(
        result,
        sha256_fingerprint(leaf),
        now=NOW,
        anchors=[pki.root],
        fingerprint_only=fingerprint_only,
    )


@pytest.mark.parametrize(
    ("starts", "ends", "said"),
    [
        pytest.param(-400, -2, "expired on ", id="expired"),
        pytest.param(2, 400, "is not valid before ", id="not-yet-valid"),
    ],
)
@pytest.mark.parametrize("fingerprint_only", [False, True])
async def test_out_of_date_intermediate_is_named_in_a_warning(
    tmp_path: Path, pki: TestPki, starts: int, ends: int, said: str, fingerprint_only: bool
) -> None:
    out = await check_served(
        tmp_path,
        pki,
        NOW + dt.timedelta(days=starts),
        NOW + dt.timedelta(days=ends),
        fingerprint_only=fingerprint_only,
    )
    # a warning, not a failure: an expired cross-signed copy of a root that clients hold anyway
    # is common and harmless, and the system store is not known to the verdict
    assert out.ok and out.matches_current and out.days_left is not None and out.days_left > 0
    assert any(w.startswith(f"intermediate CN=Dated Intermediate {said}") for w in out.warnings), (
        out.warnings
    )


async def test_in_date_intermediate_is_ok(tmp_path: Path, pki: TestPki) -> None:
    out = await check_served(
        tmp_path,
        pki,
        NOW - dt.timedelta(days=1),
        NOW + dt.timedelta(days=400),
        fingerprint_only=False,
    )
    assert out.ok and out.problems == [], out.problems


async def test_nothing_expected_holds_the_certificate_to_the_name(
    tmp_path: Path, pki: TestPki
) -> None:
    files = pki.write(tmp_path / "pki")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(files["fullchainA.pem"], files["leafA.key"])

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.abort()

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ctx)
    try:
        port = int(server.sockets[0].getsockname()[1])
        other = await probe("127.0.0.1", port, sni="www.example.org", timeout=5)
        mine = await probe("127.0.0.1", port, sni="localhost", timeout=5)
    finally:
        server.close()
        await server.wait_closed()
    out = evaluate(other, None, [pki.intermediate], now=NOW)
    assert not out.ok and out.matches_current
    assert out.problems == ["the served certificate does not cover the name www.example.org"]
    assert evaluate(mine, None, [pki.intermediate], now=NOW).ok
    relaxed = evaluate(other, None, [pki.intermediate], now=NOW, fingerprint_only=True)
    assert relaxed.ok and relaxed.warnings
    # with a fingerprint expected, the name stays a warning (fingerprint first)
    assert evaluate(other, sha256_fingerprint(pki.leaf_a), [pki.intermediate], now=NOW).ok
    # an empty fingerprint is a caller's mistake, not "nothing expected"
    with pytest.raises(ValidationError, match="not a SHA-256"):
        evaluate(other, "", [pki.intermediate], now=NOW)
