"""The built-in CA's X.509 work: roots, subordinate CSRs, server certificates, CRLs (pure functions)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import PrivateKey, PublicKey

_BACKDATE = dt.timedelta(minutes=5)


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | None:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return hashes.SHA256()
    return None  # Ed25519/Ed448 sign without a separate hash


def random_serial() -> int:
    """A positive 159-bit serial (RFC 5280: at most 20 octets, CA/B: at least 64 random bits)."""
    return secrets.randbits(159) | (1 << 158)


def build_root(
    key: PrivateKey, subject: x509.Name, *, now: dt.datetime, days: int = 3650
) -> x509.Certificate:
    """A self-signed root CA certificate."""
    pub = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(pub)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(pub)
        .serial_number(random_serial())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    return builder.sign(key, _hash_for(key))


def build_ca_csr(key: PrivateKey, subject: x509.Name) -> x509.CertificateSigningRequest:
    """A CSR for a subordinate CA (to be signed by a higher CA)."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(key, _hash_for(key))
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class LeafSpec:
    """What goes into a server certificate."""

    subject: x509.Name
    sans: Sequence[x509.GeneralName]
    days: int
    crl_url: str = ""


def issue_leaf(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    public_key: PublicKey,
    spec: LeafSpec,
    *,
    now: dt.datetime,
) -> x509.Certificate:
    """Sign a TLS server certificate.

    Raises:
        ValidationError: No names at all, or a lifetime beyond the CA's own.
    """
    if not spec.sans:
        raise ValidationError(
            "a server certificate needs at least one DNS name or IP address", field="san"
        )
    if spec.days < 1 or spec.days > 3650:
        raise ValidationError("validity must be between 1 and 3650 days", field="days")
    not_after = now + dt.timedelta(days=spec.days)
    if not_after > ca_cert.not_valid_after_utc:
        not_after = ca_cert.not_valid_after_utc
    is_rsa = isinstance(public_key, rsa.RSAPublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
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
        .add_extension(_aki(ca_cert), critical=False)
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
    return builder.sign(ca_key, _hash_for(ca_key))


def _aki(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())  # type: ignore[arg-type]


REASONS: dict[str, x509.ReasonFlags] = {
    r.value: r for r in x509.ReasonFlags if r.value not in ("removeFromCRL",)
}


@dataclass(frozen=True)
class RevokedEntry:
    """One line of a CRL."""

    serial: int
    revoked_at: dt.datetime
    reason: str = "unspecified"


def build_crl(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    revoked: Sequence[RevokedEntry],
    *,
    crl_number: int,
    now: dt.datetime,
    next_update: dt.timedelta = dt.timedelta(days=7),
) -> x509.CertificateRevocationList:
    """A CRL signed by the CA."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - _BACKDATE)
        .next_update(now + next_update)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(_aki(ca_cert), critical=False)
    )
    for entry in revoked:
        rb = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
        )
        flag = REASONS.get(entry.reason)
        if flag is not None and flag is not x509.ReasonFlags.unspecified:
            rb = rb.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(rb.build())
    return builder.sign(ca_key, _hash_for(ca_key))
