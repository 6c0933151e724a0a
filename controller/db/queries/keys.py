"""Queries of private-key records (never their material) and the certificates that use them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import Certificate, PrivateKeyRecord

KEY_SORTS: dict[str, Any] = {
    "created": PrivateKeyRecord.created_at,
    "algorithm": PrivateKeyRecord.algorithm,
    "origin": PrivateKeyRecord.origin,
}


async def keys_page(
    s: AsyncSession, *, sort: str, desc: bool, page: int, per_page: int
) -> tuple[Sequence[PrivateKeyRecord], int]:
    """One page of key records and how many there are."""
    col = KEY_SORTS[sort]
    total = int((await s.execute(select(func.count(PrivateKeyRecord.id)))).scalar_one())
    rows = await s.execute(
        select(PrivateKeyRecord)
        .order_by(col.desc() if desc else col.asc(), PrivateKeyRecord.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return rows.scalars().all(), total


async def keys_after(s: AsyncSession, *, after_id: int, limit: int) -> Sequence[PrivateKeyRecord]:
    """Key records with an id above ``after_id``, by id."""
    rows = await s.execute(
        select(PrivateKeyRecord)
        .where(PrivateKeyRecord.id > after_id)
        .order_by(PrivateKeyRecord.id)
        .limit(limit)
    )
    return rows.scalars().all()


async def certificates_using(
    s: AsyncSession, key_ids: Sequence[int]
) -> dict[int, list[tuple[int, str]]]:
    """For each key id: the (id, common name) of the certificates made for it."""
    used: dict[int, list[tuple[int, str]]] = {i: [] for i in key_ids}
    if not key_ids:
        return used
    rows = await s.execute(
        select(Certificate.private_key_id, Certificate.id, Certificate.common_name).where(
            Certificate.private_key_id.in_(list(key_ids))
        )
    )
    for kid, cid, cn in rows.all():
        if kid is not None:
            used[kid].append((cid, cn))
    return used


async def newest_certificate_for_key(s: AsyncSession, key_id: int) -> Certificate | None:
    """The longest-lived certificate made for a key, if any."""
    return (
        await s.execute(
            select(Certificate)
            .where(Certificate.private_key_id == key_id)
            .order_by(Certificate.not_after.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def keys_by_public_sha256(s: AsyncSession, fps: Sequence[str]) -> dict[str, PrivateKeyRecord]:
    """The stored key records among public-key fingerprints ``fps``, by fingerprint."""
    out: dict[str, PrivateKeyRecord] = {}
    uniq = list(dict.fromkeys(fps))
    for i in range(0, len(uniq), 500):
        rows = await s.execute(
            select(PrivateKeyRecord).where(PrivateKeyRecord.public_sha256.in_(uniq[i : i + 500]))
        )
        out.update({r.public_sha256: r for r in rows.scalars().all()})
    return out
