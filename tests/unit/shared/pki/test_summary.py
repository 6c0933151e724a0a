"""summarize() on real certificates and on odd ones it must survive."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509

from certmgr.shared.errors import UnsupportedFormatError, ValidationError
from certmgr.shared.pki import load, summarize
from tests.factories.openssl_files import PkiFiles, normalize_fp, run
from tests.factories.pki_builders import NOW, der, ec_key, make_cert


def test_ec_leaf(pki_files: PkiFiles) -> None:
    cert = load(pki_files.read("leaf-ec.pem")).certificates[0]
    s = summarize(cert)
    assert s.subject == "CN=leaf-ec.example.test,O=certmgr tests"
    assert s.common_name == "leaf-ec.example.test"
    assert s.organization == "certmgr tests"
    assert s.dns_names == ("leaf-ec.example.test", "www.leaf-ec.example.test")
    assert s.ip_addresses == ("192.0.2.10",)
    assert s.sans == ("leaf-ec.example.test", "www.leaf-ec.example.test", "192.0.2.10")
    assert s.issuer_cn == "certmgr Test Intermediate CA"
    assert s.serial_hex == "2002"
    assert s.key.label == "EC P-256"
    assert s.signature_algorithm == "ecdsa-with-SHA256"
    assert not s.is_ca and not s.self_signed
    assert s.lifetime_days == 90
    assert s.not_after.tzinfo is not None
    assert s.sha256 == pki_files.fingerprints["leaf-ec"]
    sha1 = run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha1", "-in", "leaf-ec.pem"], pki_files.root
    )
    assert s.sha1 == normalize_fp(sha1.decode())
    assert s.problems == ()


def test_rsa_leaf_and_root(pki_files: PkiFiles) -> None:
    rsa = summarize(load(pki_files.read("leaf-rsa.pem")).certificates[0])
    assert rsa.signature_algorithm == "ecdsa-with-SHA256"  # issued by the EC intermediate
    rsa_key = load(pki_files.read("leaf-rsa.key")).keys[0]
    assert summarize(make_cert("rsa", rsa_key)).signature_algorithm == "sha256WithRSAEncryption"
    assert rsa.key.label == "RSA 2048"
    assert rsa.ip_addresses == ("2001:db8::10",)
    assert rsa.emails == ("admin@example.test",)
    assert rsa.sans == ("leaf-rsa.example.test", "2001:db8::10", "admin@example.test")
    root = summarize(load(pki_files.read("root.pem")).certificates[0])
    assert root.is_ca and root.self_signed
    assert root.issuer == root.subject


def test_days_left() -> None:
    s = summarize(make_cert("x", ec_key(), days=10))
    assert s.days_left(NOW) == 10
    assert s.days_left(NOW + dt.timedelta(days=9, hours=23)) == 0
    assert s.days_left(NOW + dt.timedelta(days=10, hours=1)) == -1
    with pytest.raises(ValidationError):
        s.days_left(dt.datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose


def test_hostile_san_and_unknown_extension_pass_through() -> None:
    cert = make_cert(
        "x",
        ec_key(),
        sans=[
            x509.DNSName("<script>alert(1)</script>"),
            x509.UniformResourceIdentifier("https://example.test/"),
            x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
        ],
        extensions=[
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
        ],
    )
    s = summarize(cert)
    assert s.dns_names == ("<script>alert(1)</script>",)
    assert s.uris == ("https://example.test/",)
    assert s.sans == ("<script>alert(1)</script>", "https://example.test/", "192.0.2.1")
    assert s.problems == ()


def test_invalid_utf8_subject_does_not_crash() -> None:
    cert = make_cert("QQQQ-name", ec_key())
    broken = x509.load_der_x509_certificate(der(cert).replace(b"QQQQ", b"\xff\xfe\xfd\xfc"))
    s = summarize(broken)
    assert s.subject.startswith("CN=\ufffd")
    assert "subject: invalid encoding" in s.problems
    assert s.common_name is None
    with pytest.raises(UnsupportedFormatError, match="cannot be read"):
        load(der(cert).replace(b"QQQQ", b"\xff\xfe\xfd\xfc"))


def test_duplicate_extension_does_not_crash() -> None:
    cert = make_cert(
        "dup",
        ec_key(),
        extensions=[x509.UnrecognizedExtension(x509.ObjectIdentifier("2.5.29.99"), b"\x04\x02ab")],
    )
    # Rename the unknown extension to subjectKeyIdentifier (2.5.29.14), which the cert already has.
    data = der(cert).replace(b"\x06\x03\x55\x1d\x63", b"\x06\x03\x55\x1d\x0e")
    s = summarize(x509.load_der_x509_certificate(data))
    assert any("Duplicate" in p for p in s.problems)
    assert s.sans == ()
    with pytest.raises(UnsupportedFormatError, match="cannot be read"):
        load(data)


def test_summary_names_take_the_first_value_of_each_attribute() -> None:
    """CN and O come from one pass over the subject: the first of each, None when absent."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import dsa, ed448, ed25519, rsa
    from cryptography.x509.oid import NameOID

    from certmgr.shared.pki import PrivateKey, public_half, public_key_algorithm

    key = ec_key()
    cert = make_cert("ignored", key)
    subject = x509.Name(
        [
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org A")]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "first.test")]),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.COMMON_NAME, "second.test")]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org B")]
            ),
        ]
    )
    built = x509.CertificateBuilder(
        subject_name=subject,
        issuer_name=x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Only O")]),
        public_key=key.public_key(),
        serial_number=5,
        not_valid_before=cert.not_valid_before_utc,
        not_valid_after=cert.not_valid_after_utc,
    ).sign(key, hashes.SHA256())
    s = summarize(built)
    assert (s.common_name, s.organization, s.issuer_cn) == ("first.test", "Org A", None)
    assert s.common_name == built.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert summarize(built, der=der(built)) == s  # the DER a caller has gives the same summary
    # key classes are looked up once, and answer as isinstance would
    keys: list[PrivateKey] = [
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        key,
        ed25519.Ed25519PrivateKey.generate(),
        ed448.Ed448PrivateKey.generate(),
    ]
    for k, want in zip(keys, ("RSA", "EC", "Ed25519", "Ed448"), strict=True):
        assert public_key_algorithm(public_half(k)) == want
        assert public_key_algorithm(k) is None  # a private key is not a public key
        pub = public_half(k)
        assert public_half(pub) is pub
    dsa_pub = dsa.generate_private_key(key_size=2048).public_key()
    assert public_key_algorithm(dsa_pub) is None and public_key_algorithm("text") is None
