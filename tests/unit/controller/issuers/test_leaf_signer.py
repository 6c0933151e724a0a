"""The private CA's leaf signer writes the certificate the builder's one-extension-at-a-time form writes."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from certmgr.controller.issuers.private_ca import LeafSigner, LeafSpec, build_root, issue_leaf
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import KeyType, PrivateKey, PublicKey, generate_private_key
from certmgr.shared.pki.names import build_name, parse_sans

NOW = dt.datetime(2026, 12, 5, 3, 4, 5, tzinfo=dt.UTC)


def _reference(
    ca_key: PrivateKey, ca_cert: x509.Certificate, public_key: PublicKey, spec: LeafSpec
) -> x509.Certificate:
    """The leaf as issue_leaf built it before the signer (add_extension one by one)."""
    is_rsa = isinstance(public_key, rsa.RSAPublicKey)
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(minutes=5))
        .not_valid_after(min(NOW + dt.timedelta(days=spec.days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=is_rsa,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(list(spec.sans)), critical=not spec.subject)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    if spec.crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(spec.crl_url)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256())


@pytest.mark.parametrize(
    ("leaf_type", "subject", "sans", "days", "crl_url"),
    [
        (KeyType.EC_P256, build_name("web.test"), ["web.test"], 90, "http://ca.test/pki/crl/1.der"),
        (
            KeyType.RSA_2048,
            build_name("rsa.test", organization="O"),
            ["rsa.test", "192.0.2.1"],
            30,
            "",
        ),
        (KeyType.EC_P384, build_name(""), ["only-sans.test"], 3650, "http://ca.test/crl/{ca}"),
    ],
)
def test_signer_writes_what_one_extension_at_a_time_wrote(
    leaf_type: KeyType, subject: x509.Name, sans: list[str], days: int, crl_url: str
) -> None:
    ca_key = generate_private_key(KeyType.EC_P256)
    ca_cert = build_root(ca_key, build_name("Signer Test CA"), now=NOW, days=365)
    key = generate_private_key(leaf_type)
    spec = LeafSpec(subject, parse_sans(sans), days=days, crl_url=crl_url)
    signer = LeafSigner(ca_key, ca_cert)
    ref = _reference(ca_key, ca_cert, key.public_key(), spec)
    for cert in (
        signer.sign(key.public_key(), spec, now=NOW),
        issue_leaf(ca_key, ca_cert, key.public_key(), spec, now=NOW),
    ):
        assert list(cert.extensions) == list(ref.extensions)  # the same extensions, in order
        assert cert.subject == ref.subject and cert.issuer == ref.issuer
        assert cert.not_valid_before_utc == ref.not_valid_before_utc
        assert cert.not_valid_after_utc == ref.not_valid_after_utc  # capped at the CA's own
        assert cert.public_key() == key.public_key()
        assert cert.signature_algorithm_oid == ref.signature_algorithm_oid
        cert.verify_directly_issued_by(ca_cert)


def test_signer_refuses_what_issue_leaf_refused() -> None:
    ca_key = generate_private_key(KeyType.EC_P256)
    ca_cert = build_root(ca_key, build_name("Signer Test CA"), now=NOW, days=365)
    signer = LeafSigner(ca_key, ca_cert)
    pub = generate_private_key(KeyType.EC_P256).public_key()
    with pytest.raises(ValidationError, match="at least one DNS name"):
        signer.sign(pub, LeafSpec(build_name("x.test"), [], days=30), now=NOW)
    for days in (0, 3651):
        with pytest.raises(ValidationError, match="between 1 and 3650"):
            signer.sign(
                pub, LeafSpec(build_name("x.test"), parse_sans(["x.test"]), days=days), now=NOW
            )
