"""Every account key type signs its JWS so that a real CA (Pebble) accepts it: RS256 and
ES384 besides the default ES256 (registration with the public JWK, orders with the kid)."""

from __future__ import annotations

import pytest

from certmgr.controller.issuers.acme import (
    AcmeAccountSpec,
    AcmeConnections,
    Http01Responder,
    obtain_certificate,
    register_account,
)
from certmgr.shared.pki import KeyType
from tests.factories.acme_servers import PebbleServer
from tests.integration.acme.conftest import make_csr, verify_issued


@pytest.mark.parametrize("key_type", [KeyType.RSA_2048, KeyType.EC_P384])
async def test_account_key_types_register_and_order(
    pebble: PebbleServer, responder: Http01Responder, key_type: KeyType
) -> None:
    account = await register_account(
        AcmeAccountSpec(pebble.directory_url, ca_bundle_pem=pebble.ca_bundle_pem),
        key_type=key_type,
    )
    assert account.account_url.startswith("https://")
    name = f"{key_type.value}.certmgr.test"
    async with AcmeConnections() as connections:
        result = await obtain_certificate(
            account, make_csr(name), challenge=responder, timeout=60, connections=connections
        )
    verify_issued(result, pebble.roots_pem(), name)
