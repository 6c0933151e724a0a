from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from certmgr.shared.errors import ValidationError
from certmgr.shared.pki.names import normalize_dns_name, parse_dn, parse_san, parse_sans


def test_san_kinds() -> None:
    assert parse_san("WWW.Example.com.") == x509.DNSName("www.example.com")
    assert parse_san("*.example.com") == x509.DNSName("*.example.com")
    assert parse_san("192.0.2.1") == x509.IPAddress(ipaddress.ip_address("192.0.2.1"))
    assert parse_san("IP:2001:db8::1") == x509.IPAddress(ipaddress.ip_address("2001:db8::1"))
    assert parse_san("bücher.example") == x509.DNSName("xn--bcher-kva.example")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a b.com",
        "-x.com",
        "x..com",
        "<script>.com",
        "a" * 64 + ".com",
        "*.*.com",
        "IP:300.1.1.1",
    ],
)
def test_bad_sans(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_san(bad)


def test_dedupe_keeps_order() -> None:
    names = parse_sans(["b.example", "a.example", "B.example"])
    assert [n.value for n in names] == ["b.example", "a.example"]


def test_parse_dn_both_styles() -> None:
    a = parse_dn("CN=Example Root,O=Example\\, Inc.,C=de")
    assert a.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Example, Inc."
    assert a.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "DE"
    b = parse_dn("/CN=Example Root/O=Example")
    assert b.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Example Root"


@pytest.mark.parametrize("bad", ["", "CN", "XX=1", "C=Germany", "CN="])
def test_parse_dn_errors(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_dn(bad)


def test_normalize_rejects_long() -> None:
    with pytest.raises(ValidationError):
        normalize_dns_name(".".join(["a" * 60] * 5))
