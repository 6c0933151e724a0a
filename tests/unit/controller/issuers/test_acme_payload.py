"""newOrder payloads: identifiers from the CSR, profile and replaces by directory feature."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certmgr.controller.issuers._acme_payload import (
    DirectoryFeatures,
    check_solvable,
    csr_identifiers,
    new_order_payload,
)
from certmgr.controller.issuers.acme_solvers import DNS_01, HTTP_01
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import build_csr, generate_private_key

ARI_ID = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
FULL = DirectoryFeatures(True, {"classic": "90 days", "shortlived": "6 days"})
NONE = DirectoryFeatures(False, {})


class Kinds:
    """A solver that only answers ``supports``."""

    def __init__(self, *kinds: str) -> None:
        self.kinds = kinds

    def supports(self, domain: str) -> Sequence[str]:
        return self.kinds

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        raise AssertionError("not used")

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        raise AssertionError("not used")


def test_identifiers_from_sans_then_cn() -> None:
    key = generate_private_key("ec-p256")
    csr = build_csr(key, "Www.Example.Test", ["www.example.test", "b.example.test", "192.0.2.7"])
    assert csr_identifiers(csr) == [
        ("dns", "www.example.test"),
        ("dns", "b.example.test"),
        ("ip", "192.0.2.7"),
    ]
    only_cn = build_csr(key, "c.example.test")
    assert csr_identifiers(only_cn) == [("dns", "c.example.test")]


def test_csr_without_names_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "No Names Inc")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    with pytest.raises(ValidationError, match="names no DNS name"):
        csr_identifiers(csr)


def test_payload_with_profile_and_replaces_when_offered() -> None:
    body = new_order_payload([("dns", "a.test")], FULL, profile="shortlived", replaces=ARI_ID)
    assert body == {
        "identifiers": [{"type": "dns", "value": "a.test"}],
        "profile": "shortlived",
        "replaces": ARI_ID,
    }


def test_payload_leaves_out_what_the_ca_does_not_offer() -> None:
    body = new_order_payload([("ip", "192.0.2.1")], NONE, profile="shortlived", replaces=ARI_ID)
    assert body == {"identifiers": [{"type": "ip", "value": "192.0.2.1"}]}


def test_payload_without_options() -> None:
    assert new_order_payload([("dns", "a.test")], FULL, profile=None, replaces=None) == {
        "identifiers": [{"type": "dns", "value": "a.test"}]
    }


def test_unknown_profile_is_refused_with_the_offered_ones() -> None:
    with pytest.raises(ValidationError, match="classic, shortlived") as info:
        new_order_payload([("dns", "a.test")], FULL, profile="tlsserver", replaces=None)
    assert info.value.field == "profile"


@pytest.mark.parametrize("bad", ["nodot", "a.b.c", "a b.c", "ab.c/d"])
def test_malformed_replaces_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        new_order_payload([("dns", "a.test")], FULL, profile=None, replaces=bad)
    assert info.value.field == "replaces"


def test_wildcards_need_dns_01() -> None:
    idents = [("dns", "*.a.test"), ("dns", "a.test")]
    check_solvable(idents, Kinds(HTTP_01, DNS_01))
    check_solvable(idents, Kinds(DNS_01))
    with pytest.raises(ValidationError, match=r"\*\.a\.test: it needs dns-01"):
        check_solvable(idents, Kinds(HTTP_01))
    with pytest.raises(ValidationError, match="a.test"):
        check_solvable([("dns", "a.test")], Kinds())
    with pytest.raises(ValidationError):
        check_solvable([("dns", "a.test")], Kinds("tls-alpn-01"))
