"""Storing keys and certificates (with chains) in the repository; shared by import, CA and requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import Certificate, ChainLink, PrivateKeyRecord
from certmgr.controller.vault import MasterKey
from certmgr.shared.errors import NotFoundError
from certmgr.shared.pki import (
    CertSummary,
    KeyInfo,
    PrivateKey,
    describe_key,
    key_type_of_info,
    private_key_from_pkcs8_der,
    private_key_to_pkcs8_der,
    summarize,
)
from certmgr.shared.pki.fingerprint import sha256_fingerprint

KEY_PURPOSE = "private-key"


def certificate_values(
    cert: x509.Certificate,
    *,
    source: str,
    now: dt.datetime,
    summary: CertSummary | None = None,
    der: bytes | None = None,
) -> dict[str, Any]:
    """Column values of a row describing ``cert`` (for bulk inserts; pass what is at hand)."""
    s = summary or summarize(cert)
    return {
        "der": der or cert.public_bytes(Encoding.DER),
        "sha256": s.sha256,
        "sha1": s.sha1,
        "public_key_sha256": s.key.public_sha256,
        "serial_hex": s.serial_hex,
        "subject": s.subject[:2000],
        "common_name": (s.common_name or "")[:500],
        "issuer": s.issuer[:2000],
        "sans": list(s.sans),
        "not_before": s.not_before,
        "not_after": s.not_after,
        "key_label": s.key.label,
        "is_ca": s.is_ca,
        "self_signed": s.self_signed,
        "source": source,
        "created_at": now,
    }


def certificate_row(
    cert: x509.Certificate, *, source: str, now: dt.datetime, summary: CertSummary | None = None
) -> Certificate:
    """A new (unsaved) row describing ``cert`` (pass its ``summary`` when it is already at hand)."""
    return Certificate(**certificate_values(cert, source=source, now=now, summary=summary))


def key_values(
    key: PrivateKey,
    vault: MasterKey,
    *,
    origin: str,
    now: dt.datetime,
    info: KeyInfo | None = None,
) -> dict[str, Any]:
    """Column values of a row holding ``key`` sealed with the master key (for bulk inserts).

    Pass ``info`` (``describe_key(key)``) when it is already at hand.
    """
    info = info or describe_key(key)
    return {
        "algorithm": info.algorithm,
        "size": info.size,
        "key_type": key_type_of_info(info),
        "public_sha256": info.public_sha256,
        "origin": origin,
        "sealed_pkcs8": vault.seal(private_key_to_pkcs8_der(key), KEY_PURPOSE),
        "created_at": now,
    }


def key_row(
    key: PrivateKey, vault: MasterKey, *, origin: str, now: dt.datetime
) -> PrivateKeyRecord:
    """A new (unsaved) row holding ``key`` sealed with the master key."""
    return PrivateKeyRecord(**key_values(key, vault, origin=origin, now=now))


def unseal_key(row: PrivateKeyRecord, vault: MasterKey) -> PrivateKey:
    """The private key of a row (keep it in memory only).

    Raises:
        NotFoundError: The key lives only on an agent.
    """
    if row.sealed_pkcs8 is None:
        raise NotFoundError(f"private key {row.id} is kept on its server only")
    return private_key_from_pkcs8_der(vault.unseal(row.sealed_pkcs8, KEY_PURPOSE))


async def store_key(
    session: AsyncSession, vault: MasterKey, key: PrivateKey, *, origin: str, now: dt.datetime
) -> tuple[PrivateKeyRecord, bool]:
    """Save ``key`` unless a key with the same public key exists; returns (row, created)."""
    fp = describe_key(key).public_sha256
    existing = (
        await session.execute(select(PrivateKeyRecord).where(PrivateKeyRecord.public_sha256 == fp))
    ).scalar_one_or_none()
    if existing is not None:
        if existing.sealed_pkcs8 is None:
            existing.sealed_pkcs8 = vault.seal(private_key_to_pkcs8_der(key), KEY_PURPOSE)
        return existing, False
    row = key_row(key, vault, origin=origin, now=now)
    session.add(row)
    await session.flush()
    return row, True


async def store_certificate(
    session: AsyncSession,
    cert: x509.Certificate,
    *,
    source: str,
    now: dt.datetime,
    definition_id: int | None = None,
    private_key_id: int | None = None,
) -> tuple[Certificate, bool]:
    """Save ``cert`` unless it is already known; returns (row, created).

    ``definition_id`` and ``private_key_id`` go into a new row's insert (an existing row is
    returned as it is).
    """
    fp = sha256_fingerprint(cert)
    existing = (
        await session.execute(select(Certificate).where(Certificate.sha256 == fp))
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    row = certificate_row(cert, source=source, now=now)
    row.definition_id = definition_id
    row.private_key_id = private_key_id
    session.add(row)
    await session.flush()
    return row, True


async def set_chain(
    session: AsyncSession,
    cert_row: Certificate,
    chain: Sequence[Certificate],
    *,
    replace: bool = True,
) -> None:
    """Replace the stored chain of ``cert_row`` with ``chain`` (issuer first).

    ``replace=False`` for a row stored in this transaction (it has no chain to remove yet).
    """
    if replace:
        old = (
            (
                await session.execute(
                    select(ChainLink).where(ChainLink.certificate_id == cert_row.id)
                )
            )
            .scalars()
            .all()
        )
        for link in old:
            await session.delete(link)
        await session.flush()
    for pos, ca in enumerate(chain):
        session.add(ChainLink(certificate_id=cert_row.id, position=pos, ca_certificate_id=ca.id))


async def chain_of(session: AsyncSession, certificate_id: int) -> list[Certificate]:
    """The stored chain of a certificate, issuer first."""
    rows = await session.execute(
        select(Certificate)
        .join(ChainLink, ChainLink.ca_certificate_id == Certificate.id)
        .where(ChainLink.certificate_id == certificate_id)
        .order_by(ChainLink.position)
    )
    return list(rows.scalars().all())


async def known_ca_certificates(session: AsyncSession) -> list[x509.Certificate]:
    """Every CA certificate in the repository (candidates for completing chains)."""
    rows = await session.execute(select(Certificate.der).where(Certificate.is_ca.is_(True)))
    return [x509.load_der_x509_certificate(der) for der in rows.scalars().all()]


def load_der(rows: Iterable[Certificate]) -> list[x509.Certificate]:
    """Parse stored DER back into certificate objects."""
    return [x509.load_der_x509_certificate(r.der) for r in rows]
