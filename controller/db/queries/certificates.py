"""Queries of certificates: by id or fingerprint, lists and pages, chains."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import Certificate, ChainLink
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains, prefix
from certmgr.shared.errors import NotFoundError

CERT_SORTS: dict[str, Any] = {
    "expires": Certificate.not_after,
    "subject": Certificate.common_name,
    "issuer": Certificate.issuer,
    "id": Certificate.id,
}


async def certificate_by_id(s: AsyncSession, certificate_id: int) -> Certificate:
    """A certificate by id.

    Raises:
        NotFoundError: No such certificate.
    """
    row = await s.get(Certificate, certificate_id)
    if row is None:
        raise NotFoundError(f"no certificate {certificate_id}")
    return row


async def certificates_with_sha256_prefix(
    s: AsyncSession, fingerprint_prefix: str, *, limit: int = 2
) -> Sequence[Certificate]:
    """Certificates whose SHA-256 starts with ``fingerprint_prefix`` (normalised hex)."""
    rows = await s.execute(
        select(Certificate)
        .where(Certificate.sha256.like(prefix(fingerprint_prefix), escape=LIKE_ESCAPE))
        .limit(limit)
    )
    return rows.scalars().all()


async def chain_rows(s: AsyncSession, certificate_id: int) -> list[Certificate]:
    """The stored chain of a certificate, issuer first."""
    rows = await s.execute(
        select(Certificate)
        .join(ChainLink, ChainLink.ca_certificate_id == Certificate.id)
        .where(ChainLink.certificate_id == certificate_id)
        .order_by(ChainLink.position)
    )
    return list(rows.scalars().all())


def _kind_filter(kind: str) -> Any:
    return Certificate.is_ca.is_(kind == "ca") if kind in ("leaf", "ca") else None


async def certificates_page(
    s: AsyncSession,
    *,
    kind: str,
    source: str,
    text: str,
    sort: str,
    desc: bool,
    page: int,
    per_page: int,
    validity: str = "",
    now: dt.datetime | None = None,
) -> tuple[Sequence[Certificate], int]:
    """One page of certificates matching the filters, and how many match in all.

    ``validity`` (with ``now``): ``expired``, ``expiring`` (within 30 days), ``valid`` or
    ``not-yet-valid``.
    """
    stmt = select(Certificate)
    cond = _kind_filter(kind)
    if cond is not None:
        stmt = stmt.where(cond)
    if source:
        stmt = stmt.where(Certificate.source == source)
    if validity and now is not None:
        soon = now + dt.timedelta(days=30)
        stmt = stmt.where(
            {
                "expired": Certificate.not_after <= now,
                "expiring": and_(
                    Certificate.not_before <= now,
                    Certificate.not_after > now,
                    Certificate.not_after <= soon,
                ),
                "valid": and_(Certificate.not_before <= now, Certificate.not_after > soon),
                "not-yet-valid": Certificate.not_before > now,
            }.get(validity, true())
        )
    if text:
        like = contains(text)
        stmt = stmt.where(
            or_(
                Certificate.subject.ilike(like, escape=LIKE_ESCAPE),
                Certificate.issuer.ilike(like, escape=LIKE_ESCAPE),
                Certificate.sha256.ilike(like, escape=LIKE_ESCAPE),
                Certificate.serial_hex.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    col = CERT_SORTS[sort]
    total = int((await s.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())
    rows = await s.execute(
        stmt.order_by(col.desc() if desc else col.asc(), Certificate.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return rows.scalars().all(), total


async def certificates_after(
    s: AsyncSession, *, kind: str, after_id: int, limit: int
) -> Sequence[Certificate]:
    """Certificates with an id above ``after_id``, by id (``kind``: leaf, ca or all)."""
    stmt = select(Certificate).where(Certificate.id > after_id)
    cond = _kind_filter(kind)
    if cond is not None:
        stmt = stmt.where(cond)
    return (await s.execute(stmt.order_by(Certificate.id).limit(limit))).scalars().all()


async def certificates_by_expiry(s: AsyncSession, *, include_ca: bool) -> Sequence[Certificate]:
    """Every certificate (leaves only unless ``include_ca``), the soonest to expire first."""
    stmt = select(Certificate).order_by(Certificate.not_after)
    if not include_ca:
        stmt = stmt.where(Certificate.is_ca.is_(False))
    return (await s.execute(stmt)).scalars().all()


_CHUNK = 500


def _chunks(items: Sequence[Any]) -> list[list[Any]]:
    uniq = list(dict.fromkeys(items))
    return [uniq[i : i + _CHUNK] for i in range(0, len(uniq), _CHUNK)]


async def certificates_by_sha256(s: AsyncSession, fps: Sequence[str]) -> dict[str, Certificate]:
    """The stored certificates among SHA-256 fingerprints ``fps``, by fingerprint."""
    out: dict[str, Certificate] = {}
    for part in _chunks(fps):
        rows = await s.execute(select(Certificate).where(Certificate.sha256.in_(part)))
        out.update({r.sha256: r for r in rows.scalars().all()})
    return out


async def certificate_ids_by_sha256(s: AsyncSession, fps: Sequence[str]) -> dict[str, int]:
    """The ids of the stored certificates among ``fps``, by fingerprint."""
    out: dict[str, int] = {}
    for part in _chunks(fps):
        rows = await s.execute(
            select(Certificate.sha256, Certificate.id).where(Certificate.sha256.in_(part))
        )
        out.update({k: int(v) for k, v in rows.all()})
    return out


async def not_after_by_id(s: AsyncSession, ids: Sequence[int]) -> dict[int, dt.datetime]:
    """The expiry of certificates by id."""
    out: dict[int, dt.datetime] = {}
    for part in _chunks(ids):
        rows = await s.execute(
            select(Certificate.id, Certificate.not_after).where(Certificate.id.in_(part))
        )
        out.update({int(i): na for i, na in rows.all()})
    return out


async def chain_length(s: AsyncSession, certificate_id: int) -> int:
    """How many CA certificates the stored chain of a certificate holds."""
    rows = await s.execute(
        select(ChainLink.position).where(ChainLink.certificate_id == certificate_id)
    )
    return len(rows.all())
