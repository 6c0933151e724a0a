"""The ACME transport's input checks (URLs, account key types, trust bundles, replies) and its JWS."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from josepy import jws as jose_jws

from certmgr.controller.issuers._acme_net import (
    AcmeConnection,
    Reply,
    _Signer,
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


@pytest.mark.parametrize(
    "make_key",
    [
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
        lambda: rsa.generate_private_key(65537, 2048),
    ],
)
@pytest.mark.parametrize("kid", [None, "https://ca.example/acct/1"])
def test_jws_verifies_with_the_account_key(make_key: Any, kid: str | None) -> None:
    """RFC 8555 §6.2: flattened JWS, protected alg/nonce/url and kid (or jwk before an account)."""
    key = make_key()
    public, alg = account_jwk(key)
    signed = _Signer(key, public, alg).sign(b'{"a":1}', "bm9uY2U", "https://ca.example/x", kid)
    parsed = jose_jws.JWS.json_loads(signed)
    assert parsed.verify(public.public_key())
    assert json.loads(parsed.payload) == {"a": 1}
    protected = json.loads(base64.urlsafe_b64decode(json.loads(signed)["protected"] + "=="))
    assert protected["alg"] == alg.name
    assert protected["nonce"] == "bm9uY2U" and protected["url"] == "https://ca.example/x"
    if kid is None:
        assert "kid" not in protected and protected["jwk"] == public.public_key().to_partial_json()
    else:
        assert protected["kid"] == kid and "jwk" not in protected
    other, _ = account_jwk(make_key())
    assert not parsed.verify(other.public_key())
