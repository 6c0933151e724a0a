"""Reading the certificate repository: lists and pages, one certificate with its chain, downloads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, CertificateDefinition
from certmgr.controller.db.queries import certificates as q
from certmgr.controller.services.certificates.overview import Page
from certmgr.shared.errors import NotFoundError, ValidationError
from certmgr.shared.pki.fingerprint import normalize_fingerprint

CERT_SORTS = tuple(q.CERT_SORTS)
CERT_KINDS = ("leaf", "ca", "all")


@dataclass(frozen=True)
class CertificateView:
    """A certificate with its stored chain (issuer first) and, when asked for, its definition."""

    certificate: Certificate
    chain: list[Certificate]
    definition: CertificateDefinition | None = None


@dataclass(frozen=True)
class CertificateFile:
    """A download: bytes, file name and content type."""

    data: bytes
    filename: str
    content_type: str


async def certificates_page(
    db: Database,
    *,
    kind: str = "leaf",
    source: str = "",
    text: str = "",
    sort: str = "expires",
    desc: bool = False,
    page: int = 1,
    per_page: int = 50,
    validity: str = "",
    now: dt.datetime | None = None,
) -> Page[Certificate]:
    """One page of certificates (``kind``: leaf, ca or anything else for all; ``text`` searches subject, issuer, fingerprint, serial; ``validity`` at ``now``)."""
    async with db.reader() as s:
        rows, total = await q.certificates_page(
            s,
            kind=kind,
            source=source,
            text=text,
            validity=validity,
            now=now,
            sort=sort if sort in q.CERT_SORTS else "expires",
            desc=desc,
            page=page,
            per_page=per_page,
        )
    return Page(list(rows), total, page, per_page)


async def list_certificates(
    db: Database, *, kind: str = "leaf", after_id: int = 0, limit: int = 100
) -> list[Certificate]:
    """Certificates by id after a cursor.

    Raises:
        ValidationError: ``kind`` is not leaf, ca or all.
    """
    if kind not in CERT_KINDS:
        raise ValidationError("kind must be leaf, ca or all", field="kind")
    async with db.reader() as s:
        return list(await q.certificates_after(s, kind=kind, after_id=after_id, limit=limit))


async def certificates_by_expiry(db: Database, *, include_ca: bool = False) -> list[Certificate]:
    """Every certificate (leaves only unless ``include_ca``), the soonest to expire first."""
    async with db.reader() as s:
        return list(await q.certificates_by_expiry(s, include_ca=include_ca))


async def certificate_view(
    db: Database, certificate_id: int, *, with_definition: bool = False
) -> CertificateView:
    """A certificate with its chain (and its definition with ``with_definition``).

    Raises:
        NotFoundError: No such certificate.
    """
    async with db.reader() as s:
        row = await q.certificate_by_id(s, certificate_id)
        chain = await q.chain_rows(s, row.id)
        d = None
        if with_definition and row.definition_id:
            d = await s.get(CertificateDefinition, row.definition_id)
    return CertificateView(row, chain, d)


async def find_certificate(db: Database, ref: str) -> CertificateView:
    """A certificate by id, SHA-256 or a unique SHA-256 prefix (at least 8 hex digits), with its chain.

    Raises:
        NotFoundError: None or several match.
    """
    async with db.reader() as s:
        row: Certificate | None = None
        if ref.isdigit() and len(ref) < 12:
            row = await s.get(Certificate, int(ref))
        if row is None:
            fp = normalize_fingerprint(ref)
            rows = await q.certificates_with_sha256_prefix(s, fp) if len(fp) >= 8 else ()
            if len(rows) > 1:
                raise NotFoundError(f"{ref!r} matches several certificates; give more digits")
            row = rows[0] if rows else None
        if row is None:
            raise NotFoundError(f"no certificate {ref!r}")
        return CertificateView(row, await q.chain_rows(s, row.id))


def pem_of(rows: Sequence[Certificate]) -> bytes:
    """The PEM of stored certificates, in order."""
    return b"".join(x509.load_der_x509_certificate(c.der).public_bytes(Encoding.PEM) for c in rows)


def certificate_file(
    row: Certificate, chain: Sequence[Certificate], what: str, fmt: str
) -> CertificateFile:
    """A download of a certificate (``what``: cert, chain, fullchain; ``fmt``: pem, der).

    Raises:
        ValidationError: DER of several certificates, or an unknown choice.
    """
    base = (row.common_name or f"certificate-{row.id}").replace("*", "wildcard")
    if what == "cert":
        certs = [row]
    elif what == "chain":
        certs = list(chain)
    elif what == "fullchain":
        certs = [row, *[c for c in chain if not c.self_signed]]
    else:
        raise ValidationError("choose cert, chain or fullchain", field="what")
    if fmt == "der":
        if len(certs) != 1:
            raise ValidationError(
                "DER holds one certificate; download the chain as PEM", field="format"
            )
        return CertificateFile(certs[0].der, f"{base}.der", "application/pkix-cert")
    if fmt != "pem":
        raise ValidationError("format must be pem or der", field="format")
    if not certs:
        raise ValidationError("this certificate has no stored chain", field="what")
    name = f"{base}{'' if what == 'cert' else '-' + what}.pem"
    return CertificateFile(pem_of(certs), name, "application/x-pem-file")


async def certificate_download(
    db: Database, certificate_id: int, what: str, fmt: str
) -> CertificateFile:
    """The certificate, its chain or the full chain as PEM or DER.

    Raises:
        NotFoundError: No such certificate.
        ValidationError: DER of several certificates, or an unknown choice.
    """
    view = await certificate_view(db, certificate_id)
    return certificate_file(view.certificate, view.chain, what, fmt)
