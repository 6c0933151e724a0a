"""Queries of the private CAs (their rows, not their keys)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import Certificate, CertificateAuthority, Revocation
from certmgr.shared.errors import NotFoundError

PUBLISHING = ("active", "superseded")


async def ca_subjects(s: AsyncSession) -> set[str]:
    """The subjects of every CA of this home."""
    return set((await s.execute(select(CertificateAuthority.subject))).scalars().all())


async def active_ca(s: AsyncSession) -> CertificateAuthority:
    """The CA that issues now.

    Raises:
        NotFoundError: No CA is active (e.g. a subordinate still waits for its certificate).
    """
    row = (
        await s.execute(
            select(CertificateAuthority)
            .where(CertificateAuthority.status == "active")
            .order_by(CertificateAuthority.id.desc())
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(
            "no active private CA: run 'certmgr ca setup' (or finish a subordinate with 'certmgr ca import-cert')"
        )
    return row


async def pending_ca(s: AsyncSession) -> CertificateAuthority | None:
    """The newest subordinate CA waiting for its certificate, if any."""
    return (
        await s.execute(
            select(CertificateAuthority)
            .where(CertificateAuthority.status == "pending")
            .order_by(CertificateAuthority.id.desc())
        )
    ).scalar_one_or_none()


async def cas_with_status(
    s: AsyncSession, statuses: Sequence[str]
) -> Sequence[CertificateAuthority]:
    """CAs in one of ``statuses``, the newest first."""
    rows = await s.execute(
        select(CertificateAuthority)
        .where(CertificateAuthority.status.in_(list(statuses)))
        .order_by(CertificateAuthority.id.desc())
    )
    return rows.scalars().all()


async def publishing_cas(s: AsyncSession) -> Sequence[CertificateAuthority]:
    """CAs that publish a CRL (active and superseded ones with a certificate), the oldest first."""
    rows = await s.execute(
        select(CertificateAuthority)
        .where(
            CertificateAuthority.status.in_(PUBLISHING),
            CertificateAuthority.certificate_id.is_not(None),
        )
        .order_by(CertificateAuthority.id)
    )
    return rows.scalars().all()


async def all_cas(s: AsyncSession) -> Sequence[CertificateAuthority]:
    """Every CA, the newest first."""
    rows = await s.execute(select(CertificateAuthority).order_by(CertificateAuthority.id.desc()))
    return rows.scalars().all()


async def issued_count(s: AsyncSession, ca_cert: Certificate) -> int:
    """How many stored certificates name the CA certificate's subject as issuer."""
    q = select(func.count(Certificate.id)).where(
        Certificate.issuer == ca_cert.subject, Certificate.id != ca_cert.id
    )
    return int((await s.execute(q)).scalar_one())


async def revocations_of(s: AsyncSession, ca_id: int) -> Sequence[Revocation]:
    """A CA's revocations, in order."""
    rows = await s.execute(
        select(Revocation).where(Revocation.ca_id == ca_id).order_by(Revocation.id)
    )
    return rows.scalars().all()


async def revocation_count(s: AsyncSession, ca_id: int) -> int:
    """How many certificates a CA revoked."""
    q = select(func.count(Revocation.id)).where(Revocation.ca_id == ca_id)
    return int((await s.execute(q)).scalar_one())


async def revocation_of(s: AsyncSession, ca_id: int, serial_hex: str) -> Revocation | None:
    """A CA's revocation of a serial, if any."""
    return (
        await s.execute(
            select(Revocation).where(Revocation.ca_id == ca_id, Revocation.serial_hex == serial_hex)
        )
    ).scalar_one_or_none()


async def certificates_by_sha256_or_serial(s: AsyncSession, token: str) -> Sequence[Certificate]:
    """Certificates whose SHA-256 is ``token`` or whose serial (hex, leading zeros optional) is."""
    rows = await s.execute(
        select(Certificate).where(
            (Certificate.sha256 == token)
            | Certificate.serial_hex.in_([token, token.lstrip("0") or "0"])
        )
    )
    return rows.scalars().all()
