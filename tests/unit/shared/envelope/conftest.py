"""Keys and a sample manifest for the envelope tests."""

from __future__ import annotations

import datetime as dt

import nacl.public
import nacl.signing
import pytest

from certmgr.shared.envelope import Manifest, key_id

NOW = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
KEY_BYTES = b"-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n"
RECEIPT = bytes(range(32))
STORE_PASSWORD = "keystore-pass-do-not-leak"


@pytest.fixture(scope="session")
def controller_key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey.generate()


@pytest.fixture(scope="session")
def agent_key() -> nacl.public.PrivateKey:
    return nacl.public.PrivateKey.generate()


@pytest.fixture
def manifest(controller_key: nacl.signing.SigningKey) -> Manifest:
    return make_manifest(controller_key)


def make_manifest(signing_key: nacl.signing.SigningKey, **overrides: object) -> Manifest:
    fields: dict[str, object] = {
        "deployment_id": 42,
        "sequence": 7,
        "target_type": "java-keystore",
        "target_params": {
            "keystore_path": "/etc/app/ks.p12",
            "store_password": STORE_PASSWORD,
            "n": [1, 2.5, None],
        },
        "created_at": NOW - dt.timedelta(hours=1),
        "expires_at": NOW + dt.timedelta(days=7),
        "controller_key_id": key_id(signing_key.verify_key),
        "certificate_pem": b"-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n",
        "chain_pem": b"-----BEGIN CERTIFICATE-----\nintermediate\n-----END CERTIFICATE-----\n",
        "private_key_pkcs8": KEY_BYTES,
        "receipt_key": RECEIPT,
    }
    fields.update(overrides)
    return Manifest(**fields)  # type: ignore[arg-type]
