"""A plain, display-ready summary of one certificate that never fails on odd certificates."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa
from cryptography.x509.oid import NameOID

from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import _der
from certmgr.shared.pki.chain import is_ca, is_self_signed
from certmgr.shared.pki.fingerprint import cert_der, sha1_fingerprint, sha256_fingerprint
from certmgr.shared.pki.keys import KeyInfo, describe_key, public_key_algorithm

_UNREADABLE = "<unreadable>"
_CN_AND_O = (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME)
_SHORT = {
    "2.5.4.3": "CN",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.6": "C",
}


@dataclass(frozen=True)
class CertSummary:
    """What a person wants to see about a certificate.

    ``sans`` holds every subject alternative name as plain text (DNS names, IP addresses,
    e-mail addresses, URIs), without ``DNS:``/``IP:`` prefixes. ``problems`` lists parts that
    could not be read (the rest of the summary is still filled in).
    """

    subject: str
    common_name: str | None
    organization: str | None
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    emails: tuple[str, ...]
    uris: tuple[str, ...]
    sans: tuple[str, ...]
    issuer: str
    issuer_cn: str | None
    serial_hex: str
    not_before: datetime
    not_after: datetime
    key: KeyInfo
    signature_algorithm: str
    is_ca: bool
    self_signed: bool
    sha256: str
    sha1: str
    lifetime_days: int
    problems: tuple[str, ...] = ()

    def days_left(self, now: datetime) -> int:
        """Whole days until expiry (negative once expired; 0 in the last day).

        Raises:
            ValidationError: ``now`` is naive.
        """
        if now.tzinfo is None:
            raise ValidationError("now must be timezone-aware", field="now")
        return math.floor((self.not_after - now).total_seconds() / 86400)


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    return _attributes(name, (oid,))[0]


def _attributes(name: x509.Name, oids: tuple[x509.ObjectIdentifier, ...]) -> list[str | None]:
    """The first value of each of ``oids`` in ``name`` (None where absent), in one pass over it.

    (``get_attributes_for_oid`` walks the whole name once per attribute asked for.)
    """
    found: dict[x509.ObjectIdentifier, str | None] = dict.fromkeys(oids)
    missing = len(oids)
    for rdn in name.rdns:
        for attr in rdn:
            if attr.oid in found and found[attr.oid] is None:
                value = attr.value
                found[attr.oid] = (
                    value if isinstance(value, str) else value.decode("utf-8", "replace")
                )
                missing -= 1
                if not missing:
                    return list(found.values())
    return list(found.values())


def _name_and_text(cert: x509.Certificate, *, issuer: bool) -> tuple[x509.Name | None, str]:
    """The name and its RFC 4514 text, or (None, the text read from the DER) when it is unreadable."""
    try:
        name = cert.issuer if issuer else cert.subject
        return name, name.rfc4514_string()
    except ValueError:
        return None, _raw_name(cert, 2 if issuer else 4)


def _raw_name(cert: x509.Certificate, index: int) -> str:
    """Render a name cryptography refuses (bad string encoding) straight from the DER."""
    try:
        tbs = cert.tbs_certificate_bytes
        items = _der.child_list(tbs, _der.read_tlv(tbs), minimum=6)
        offset = 1 if items[0].tag == _der.CONTEXT_0 else 0
        name = items[index + offset]
        parts: list[str] = []
        for rdn in _der.children(tbs, name):
            for atv in _der.children(tbs, rdn):
                kv = _der.child_list(tbs, atv, minimum=2)
                oid = _der.decode_oid(tbs, kv[0])
                value = _der.contents(tbs, kv[1]).decode("utf-8", "replace")
                parts.append(f"{_SHORT.get(oid, oid)}={value}")
        return ",".join(reversed(parts))
    except (_der.DerError, ValueError):
        return _UNREADABLE


def _signature_name(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    label = getattr(oid, "_name", "")
    return (
        label if isinstance(label, str) and label and label != "Unknown OID" else oid.dotted_string
    )


def _key(cert: x509.Certificate, problems: list[str]) -> KeyInfo:
    try:
        pub = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        problems.append("public key: unsupported algorithm")
        return KeyInfo(cert.public_key_algorithm_oid.dotted_string, 0, None, "")
    if public_key_algorithm(pub) is not None:
        return describe_key(pub)  # type: ignore[arg-type]  # a supported key, checked just above
    spki = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    algorithm = (
        "DSA" if isinstance(pub, dsa.DSAPublicKey) else type(pub).__name__.replace("PublicKey", "")
    )
    return KeyInfo(
        algorithm, int(getattr(pub, "key_size", 0)), None, hashlib.sha256(spki).hexdigest()
    )


class _SanTexts(NamedTuple):
    dns: tuple[str, ...]
    ips: tuple[str, ...]
    emails: tuple[str, ...]
    uris: tuple[str, ...]
    all: tuple[str, ...]  # every one of them, in the certificate's order


def _san_texts(names: Iterable[x509.GeneralName]) -> _SanTexts:
    dns: list[str] = []
    ips: list[str] = []
    emails: list[str] = []
    uris: list[str] = []
    all_sans: list[str] = []
    for gn in names:
        if isinstance(gn, x509.DNSName):
            dns.append(gn.value)
        elif isinstance(gn, x509.IPAddress):
            ips.append(str(gn.value))
        elif isinstance(gn, x509.RFC822Name):
            emails.append(gn.value)
        elif isinstance(gn, x509.UniformResourceIdentifier):
            uris.append(gn.value)
        else:
            continue
        all_sans.append(str(gn.value))
    return _SanTexts(tuple(dns), tuple(ips), tuple(emails), tuple(uris), tuple(all_sans))


def summarize(cert: x509.Certificate, *, der: bytes | None = None) -> CertSummary:
    """Summarise a certificate. Never raises: unreadable parts are listed in ``problems``.

    Args:
        cert: Any certificate cryptography loaded.
        der: Its DER encoding, when the caller has it already (encoding it again costs about as
            much as hashing it).

    Returns:
        The summary.
    """
    problems: list[str] = []
    subject_name, subject = _name_and_text(cert, issuer=False)
    issuer_name, issuer = _name_and_text(cert, issuer=True)
    problems += [
        f"{what}: invalid encoding"
        for what, n in (("subject", subject_name), ("issuer", issuer_name))
        if n is None  # an empty name (a leaf named by its SANs only) is no problem
    ]
    sans = _SanTexts((), (), (), (), ())
    try:
        sans = _san_texts(
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        )
    except x509.ExtensionNotFound:
        pass
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as err:
        problems.append(f"extensions: {str(err)[:200]}")
    try:
        ca, self_signed = is_ca(cert), is_self_signed(cert)
    except ValueError:
        ca, self_signed = False, False
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    der = der or cert_der(cert)
    common_name, organization = (
        _attributes(subject_name, _CN_AND_O) if subject_name else [None, None]
    )
    return CertSummary(
        subject=subject,
        common_name=common_name,
        organization=organization,
        dns_names=sans.dns,
        ip_addresses=sans.ips,
        emails=sans.emails,
        uris=sans.uris,
        sans=sans.all,
        issuer=issuer,
        issuer_cn=_attribute(issuer_name, NameOID.COMMON_NAME) if issuer_name else None,
        serial_hex=format(cert.serial_number, "x")
        if cert.serial_number >= 0
        else "-" + format(-cert.serial_number, "x"),
        not_before=not_before,
        not_after=not_after,
        key=_key(cert, problems),
        signature_algorithm=_signature_name(cert),
        is_ca=ca,
        self_signed=self_signed,
        sha256=sha256_fingerprint(der),
        sha1=sha1_fingerprint(der),
        lifetime_days=round((not_after - not_before).total_seconds() / 86400),
        problems=tuple(problems),
    )


@functools.lru_cache(maxsize=64)
def _name_parts(name: x509.Name) -> tuple[str, str | None]:
    # a CA signs many certificates in a row: its name is rendered once
    return name.rfc4514_string(), _attribute(name, NameOID.COMMON_NAME)


def summary_of_built(
    cert: x509.Certificate,
    *,
    subject: x509.Name,
    issuer: x509.Name,
    sans: Sequence[x509.GeneralName],
    key: KeyInfo,
    ca: bool,
    der: bytes | None = None,
) -> CertSummary:
    """:func:`summarize` for a certificate this process has just built, from the parts it was built from.

    ``subject``, ``issuer`` and ``sans`` are the names handed to the builder, ``key`` describes
    the public key it was given, ``ca`` is its basicConstraints CA flag, ``der`` its DER when the
    caller has it already: nothing is parsed back
    out of the certificate, which is most of what :func:`summarize` costs on a new certificate.
    The result equals ``summarize(cert)`` (tested).
    """
    texts = _san_texts(sans)
    issuer_text, issuer_cn = _name_parts(issuer)
    # self-signed needs the issuer's name to be the subject's (then the signature is checked)
    self_signed = is_self_signed(cert) if subject == issuer else False
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    serial = cert.serial_number
    der = der or cert_der(cert)
    return CertSummary(
        subject=subject.rfc4514_string(),
        common_name=_attribute(subject, NameOID.COMMON_NAME),
        organization=_attribute(subject, NameOID.ORGANIZATION_NAME),
        dns_names=texts.dns,
        ip_addresses=texts.ips,
        emails=texts.emails,
        uris=texts.uris,
        sans=texts.all,
        issuer=issuer_text,
        issuer_cn=issuer_cn,
        serial_hex=format(serial, "x") if serial >= 0 else "-" + format(-serial, "x"),
        not_before=not_before,
        not_after=not_after,
        key=key,
        signature_algorithm=_signature_name(cert),
        is_ca=ca,
        self_signed=self_signed,
        sha256=sha256_fingerprint(der),
        sha1=sha1_fingerprint(der),
        lifetime_days=round((not_after - not_before).total_seconds() / 86400),
    )
