"""CSRs: building (checked by openssl), loading and signature checks."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from certmgr.shared.errors import UnsupportedFormatError, ValidationError
from certmgr.shared.pki import build_csr, csr_pem, load, load_csr, public_key_der
from tests.factories.openssl_files import PkiFiles, run
from tests.factories.pki_builders import ec_key


def test_build_csr_with_sans_and_subject(pki_files: PkiFiles, tmp_path: Path) -> None:
    key = load(pki_files.read("leaf-rsa.key")).keys[0]
    csr = build_csr(
        key,
        "www.example.test",
        ["www.example.test", "IP:192.0.2.7", "api.example.test", "2001:db8::1"],
        organization="Example GmbH",
        organizational_unit="Ops",
        locality="Berlin",
        state="Berlin",
        country="de",
    )
    assert csr.is_signature_valid
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["www.example.test", "api.example.test"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.0.2.7"),
        ipaddress.ip_address("2001:db8::1"),
    ]
    assert csr.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "DE"
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "www.example.test"
    (tmp_path / "ours.csr").write_text(csr_pem(csr))
    out = run(
        ["openssl", "req", "-in", "ours.csr", "-noout", "-verify", "-text"], tmp_path
    ).decode()
    assert "DNS:api.example.test" in out and "IP Address:192.0.2.7" in out
    assert "O = Example GmbH" in out


def test_cn_is_optional_and_ed25519_works() -> None:
    csr = build_csr(ed25519.Ed25519PrivateKey.generate(), None, ["svc.example.test"])
    assert csr.subject == x509.Name([])
    assert csr.is_signature_valid


def test_build_refusals() -> None:
    key = ec_key()
    with pytest.raises(ValidationError):
        build_csr(key)
    with pytest.raises(ValidationError):
        build_csr(key, None, ["bad name!"])
    with pytest.raises(ValidationError):
        build_csr(key, "x.example", country="Germany")


def test_load_openssl_csrs(pki_files: PkiFiles) -> None:
    for file in ("leaf-ec.csr", "leaf-ec-csr.der"):
        csr = load_csr(pki_files.read(file), file)
        assert csr.subject.rfc4514_string() == "CN=leaf-ec.example.test,O=certmgr tests"
        assert public_key_der(csr.public_key()) == pki_files.public_keys["leaf-ec"]  # type: ignore[arg-type]


def test_round_trip() -> None:
    csr = build_csr(ec_key(), "rt.example.test", ["rt.example.test"])
    assert load_csr(csr_pem(csr).encode()) == csr


def test_bad_signature() -> None:
    csr = build_csr(ec_key(), "sig.example.test")
    tampered = csr.public_bytes(serialization.Encoding.DER).replace(
        b"sig.example.test", b"sig.example.tesx"
    )
    with pytest.raises(ValidationError, match="signature of the CSR in sig.csr is invalid"):
        load_csr(tampered, "sig.csr")


def test_not_a_csr(pki_files: PkiFiles) -> None:
    with pytest.raises(UnsupportedFormatError, match="holds no certificate signing request"):
        load_csr(pki_files.read("leaf-ec.pem"), "leaf-ec.pem")
    with pytest.raises(UnsupportedFormatError, match="not a valid certificate signing request"):
        load_csr(b"\x30\x03\x02\x01\x00", "junk")
    with pytest.raises(UnsupportedFormatError, match="is empty"):
        load_csr(b"  ", "empty")


def test_names_with_control_characters_never_go_into_a_csr() -> None:
    # Imported certificates may hold such names (finding 18); certmgr's own requests may not.
    with pytest.raises(ValidationError, match=r"odd\\x0aline.*control characters"):
        build_csr(ec_key(), "odd\nline", ["ok.example.test"])
    with pytest.raises(ValidationError, match="is not a valid DNS name"):
        build_csr(ec_key(), "ok.example.test", ["<script>alert(2)</script>.example.test"])
    with pytest.raises(ValidationError, match="control characters"):
        build_csr(ec_key(), "ok.example.test", organization="Evil\u202eCo")
