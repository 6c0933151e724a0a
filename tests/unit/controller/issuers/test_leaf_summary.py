"""A leaf's summary made from what went into it equals the summary parsed out of it."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certmgr.controller.issuers.private_ca import LeafSpec, build_root, issue_leaf
from certmgr.shared.pki import (
    CertSummary,
    KeyType,
    PrivateKey,
    describe_key,
    generate_private_key,
    summarize,
    summary_of_built,
)
from certmgr.shared.pki.names import build_name, parse_sans

NOW = dt.datetime(2026, 12, 5, 3, 4, 5, 678901, tzinfo=dt.UTC)
CA_NAME = build_name("Summary Test CA", organization="Example", country="de")


def _ca(key_type: KeyType) -> tuple[PrivateKey, x509.Certificate]:
    key = generate_private_key(key_type)
    return key, build_root(key, CA_NAME, now=NOW, days=365)


def _leaf_and_summary(
    ca_key: PrivateKey, ca_cert: x509.Certificate, key: PrivateKey, spec: LeafSpec
) -> tuple[CertSummary, x509.Certificate]:
    cert = issue_leaf(ca_key, ca_cert, key.public_key(), spec, now=NOW)
    built = summary_of_built(
        cert,
        subject=spec.subject,
        issuer=ca_cert.subject,
        sans=spec.sans,
        key=describe_key(key),
        ca=False,  # issue_leaf: basicConstraints CA:FALSE
    )
    return built, cert


@pytest.mark.parametrize(
    ("ca_type", "leaf_type", "subject", "sans"),
    [
        (KeyType.EC_P256, KeyType.EC_P256, build_name("web.example.test"), ["web.example.test"]),
        (
            KeyType.EC_P384,
            KeyType.EC_P256,
            build_name(
                "*.shop.example.test",
                organization="Shop, Inc.",
                organizational_unit="Ops+Web",
                locality="Köln",
                state="NRW",
                country="de",
            ),
            ["*.shop.example.test", "shop.example.test", "192.0.2.7", "2001:db8::1", "DNS:x.test"],
        ),
        (KeyType.EC_P256, KeyType.RSA_2048, build_name(""), ["10.0.0.1", "only-sans.test"]),
        # the CA's own name: the self-signed check runs (and finds another key)
        (KeyType.EC_P256, KeyType.EC_P384, CA_NAME, ["ca-named.test"]),
    ],
)
def test_summary_of_a_new_leaf_equals_its_parsed_summary(
    ca_type: KeyType, leaf_type: KeyType, subject: x509.Name, sans: list[str]
) -> None:
    ca_key, ca_cert = _ca(ca_type)
    key = generate_private_key(leaf_type)
    spec = LeafSpec(subject, parse_sans(sans), days=90, crl_url="http://ca.test/pki/crl/1.der")
    built, cert = _leaf_and_summary(ca_key, ca_cert, key, spec)
    parsed = summarize(x509.load_der_x509_certificate(cert.public_bytes(Encoding.DER)))
    assert built == parsed
    assert built.sans and not built.self_signed


def test_a_leaf_signed_by_its_own_key_under_its_issuers_name_is_self_signed() -> None:
    ca_key, ca_cert = _ca(KeyType.EC_P256)
    spec = LeafSpec(CA_NAME, parse_sans(["own.test"]), days=30)
    built, cert = _leaf_and_summary(ca_key, ca_cert, ca_key, spec)
    assert built == summarize(cert)
    assert built.self_signed
