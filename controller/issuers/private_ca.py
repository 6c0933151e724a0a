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
    """Sign a TLS server certificate (for many, make one :class:`LeafSigner` and call it).

    Raises:
        ValidationError: No names at all, or a lifetime beyond the CA's own.
    """
    return LeafSigner(ca_key, ca_cert).sign(public_key, spec, now=now)


class LeafSigner:
    """Signs TLS server certificates for one CA.

    What every leaf of the CA shares (issuer name, key usages, authority key identifier, CRL
    distribution point) is made and DER-encoded once; each leaf's extensions go to the builder as one list, in
    the order the certificate carries them (basicConstraints, keyUsage, extendedKeyUsage,
    subjectAltName, subjectKeyIdentifier, authorityKeyIdentifier, cRLDistributionPoints), instead
    of one builder copy and duplicate check per extension (together 40% of a leaf's signing).
    """

    def __init__(self, ca_key: PrivateKey, ca_cert: x509.Certificate) -> None:
        """Take the CA's key and certificate."""
        self._ca_key = ca_key
        self._hash = _hash_for(ca_key)
        self._issuer = ca_cert.subject
        self._ca_not_after = ca_cert.not_valid_after_utc
        # keyUsage: keyEncipherment only for RSA keys (TLS RSA key exchange)
        self._head = {
            is_rsa: [
                _encoded(x509.BasicConstraints(ca=False, path_length=None), critical=True),
                _encoded(_leaf_key_usage(is_rsa), critical=True),
                _encoded(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False),
            ]
            for is_rsa in (False, True)
        }
        self._aki = _encoded(_aki(ca_cert), critical=False)
        self._crl_dp: dict[str, x509.Extension[x509.ExtensionType]] = {}

    def sign(self, public_key: PublicKey, spec: LeafSpec, *, now: dt.datetime) -> x509.Certificate:
        """Sign one server certificate for ``public_key``.

        Raises:
            ValidationError: No names at all, or a lifetime beyond the CA's own.
        """
        if not spec.sans:
            raise ValidationError(
                "a server certificate needs at least one DNS name or IP address", field="san"
            )
        if spec.days < 1 or spec.days > 3650:
            raise ValidationError("validity must be between 1 and 3650 days", field="days")
        not_after = min(now + dt.timedelta(days=spec.days), self._ca_not_after)
        extensions = [
            *self._head[isinstance(public_key, rsa.RSAPublicKey)],
            _ext(x509.SubjectAlternativeName(list(spec.sans)), critical=not spec.subject),
            _ext(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False),
            self._aki,
        ]
        if spec.crl_url:
            extensions.append(self._crl_distribution_point(spec.crl_url))
        builder = (
            x509.CertificateBuilder(extensions=extensions)
            .subject_name(spec.subject)
            .issuer_name(self._issuer)
            .public_key(public_key)
            .serial_number(random_serial())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
        )
        return builder.sign(self._ca_key, self._hash)

    def _crl_distribution_point(self, url: str) -> x509.Extension[x509.ExtensionType]:
        ext = self._crl_dp.get(url)
        if ext is None:
            point = x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
            ext = _encoded(x509.CRLDistributionPoints([point]), critical=False)
            self._crl_dp[url] = ext
        return ext


def _ext(value: x509.ExtensionType, *, critical: bool) -> x509.Extension[x509.ExtensionType]:
    return x509.Extension(value.oid, critical, value)


def _encoded(value: x509.ExtensionType, *, critical: bool) -> x509.Extension[x509.ExtensionType]:
    # an extension every leaf of the CA carries, DER-encoded once: the certificate's bytes are
    # the same, and signing skips encoding it again from its Python objects
    return x509.Extension(
        value.oid, critical, x509.UnrecognizedExtension(value.oid, value.public_bytes())
    )


def _leaf_key_usage(is_rsa: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=is_rsa,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


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
