"""Real Pebble (and BIND) for the ACME client: one Pebble per test module, real validation."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography import x509
from cryptography.x509 import verification

from certmgr.controller.issuers.acme import (
    AccountRecord,
    AcmeAccountSpec,
    AcmeResult,
    Http01Responder,
    register_account,
)
from certmgr.shared.pki import build_csr, csr_pem, generate_private_key
from tests.factories.acme_servers import PebbleServer


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """Pebble with its defaults: 5 % badNonce, 50 % authz reuse, a fake DNS -> 127.0.0.1."""
    with PebbleServer(tmp_path_factory.mktemp("pebble")) as server:
        yield server


@pytest.fixture
async def responder(pebble: PebbleServer) -> AsyncIterator[Http01Responder]:
    async with Http01Responder("127.0.0.1", pebble.http_port) as r:
        yield r


@pytest.fixture
async def account(pebble: PebbleServer) -> AccountRecord:
    return await register_account(
        AcmeAccountSpec(
            pebble.directory_url, "ops@certmgr.test", ca_bundle_pem=pebble.ca_bundle_pem
        )
    )


def make_csr(*names: str) -> bytes:
    return csr_pem(build_csr(generate_private_key("ec-p256"), None, names)).encode()


def verify_issued(result: AcmeResult, roots_pem: bytes, *names: str) -> x509.Certificate:
    """Check the chain up to Pebble's root for every name, as a TLS client would."""
    leaf = x509.load_pem_x509_certificate(result.cert_pem)
    chain = x509.load_pem_x509_certificates(result.chain_pem)
    store = verification.Store(x509.load_pem_x509_certificates(roots_pem))
    now = dt.datetime.now(dt.UTC)
    for name in names:
        subject = x509.DNSName(name.replace("*", "wild", 1) if name.startswith("*.") else name)
        verifier = (
            verification.PolicyBuilder().store(store).time(now).build_server_verifier(subject)
        )
        verifier.verify(leaf, chain)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(names)
    return leaf
