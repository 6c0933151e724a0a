"""The blocking ACME transport's input checks: URLs, account key types, trust bundles, replies."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from certmgr.controller.issuers._acme_net import (
    AcmeConnection,
    Reply,
    account_jwk,
    check_directory_url,
)
from certmgr.controller.issuers.acme_errors import AcmeRejectedError
from certmgr.shared.errors import ValidationError


@pytest.mark.parametrize(
    "url",
    ["https://acme.example/dir", "https://127.0.0.1:14000/dir", "http://127.0.0.1:8080/dir"],
)
def test_accepted_directory_urls(url: str) -> None:
    check_directory_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://acme.example/dir", "ftp://127.0.0.1/dir", "127.0.0.1/dir", "https://", "", "x"],
)
def test_refused_directory_urls(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_directory_url(url)
    assert info.value.field == "directory_url"


def test_account_key_algorithms() -> None:
    assert account_jwk(ec.generate_private_key(ec.SECP256R1()))[1].name == "ES256"
    assert account_jwk(ec.generate_private_key(ec.SECP384R1()))[1].name == "ES384"
    assert account_jwk(rsa.generate_private_key(65537, 2048))[1].name == "RS256"
    with pytest.raises(ValidationError):
        account_jwk(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(ValidationError):
        account_jwk(ec.generate_private_key(ec.SECP256K1()))


def test_bad_trust_bundle_is_input_error() -> None:
    with pytest.raises(ValidationError) as info:
        AcmeConnection("https://acme.example/dir", ca_bundle_pem=b"-----BEGIN CERTIFICATE-----")
    assert info.value.field == "ca_bundle_pem"


def test_reply_json_must_be_an_object() -> None:
    ok = Reply(200, {"location": "https://ca/o/1"}, b'{"status": "valid"}', "https://ca/o/1")
    assert ok.json("order") == {"status": "valid"}
    assert ok.location == "https://ca/o/1"
    for body in (b"<html>", b"[1, 2]"):
        with pytest.raises(AcmeRejectedError, match="order"):
            Reply(200, {}, body, "https://ca/o/1").json("order")


def test_public_names_resolve() -> None:
    from certmgr.controller.issuers import acme

    assert sorted(acme.__all__) == sorted(set(acme.__all__))
    for name in acme.__all__:
        assert getattr(acme, name) is not None
