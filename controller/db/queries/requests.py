"""Queries of certificate requests and their history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import CertificateDefinition, CertificateRequest, RequestEvent
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains
from certmgr.controller.db.queries._paging import page_of
from certmgr.controller.domain.states import ONGOING_REQUEST
from certmgr.shared.errors import NotFoundError

_FINISHED = ("done", "cancelled")


async def request_by_ref(s: AsyncSession, ref: str | int) -> CertificateRequest:
    """A request by id, or by its definition's name (the ongoing request, else the latest).

    Raises:
        NotFoundError: No such request, or the definition has none.
    """
    try:
        rid = int(ref)
    except (TypeError, ValueError):
        return await _request_of_definition(s, str(ref))
    row = await s.get(CertificateRequest, rid)
    if row is None:
        raise NotFoundError(f"no request {ref!r}")
    return row


async def _request_of_definition(s: AsyncSession, name: str) -> CertificateRequest:
    definition = (
        await s.execute(
            select(CertificateDefinition.id).where(CertificateDefinition.name == name.strip())
        )
    ).scalar_one_or_none()
    if definition is None:
        raise NotFoundError(f"no request {name!r} (give a request number or a definition's name)")
    row = await open_request_of(s, definition)
    if row is None:
        row = (
            await s.execute(
                select(CertificateRequest)
                .where(CertificateRequest.definition_id == definition)
                .order_by(CertificateRequest.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"definition {name!r} has no request yet")
    return row


async def open_request_of(s: AsyncSession, definition_id: int) -> CertificateRequest | None:
    """The definition's ongoing request, if any."""
    return (
        await s.execute(
            select(CertificateRequest)
            .where(
                CertificateRequest.definition_id == definition_id,
                CertificateRequest.status.in_([x.value for x in ONGOING_REQUEST]),
            )
            .order_by(CertificateRequest.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def requests_list(
    s: AsyncSession, *, open_only: bool, newest_first: bool, limit: int | None = None
) -> Sequence[CertificateRequest]:
    """Requests by id (only unfinished ones with ``open_only``)."""
    order = CertificateRequest.id.desc() if newest_first else CertificateRequest.id
    stmt = select(CertificateRequest).order_by(order)
    if open_only:
        stmt = stmt.where(CertificateRequest.status.not_in(_FINISHED))
    if limit is not None:
        stmt = stmt.limit(limit)
    return (await s.execute(stmt)).scalars().all()


async def request_events(s: AsyncSession, request_id: int) -> list[RequestEvent]:
    """A request's events, oldest first."""
    rows = await s.execute(
        select(RequestEvent).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id)
    )
    return list(rows.scalars().all())


async def held_request_of(
    s: AsyncSession, definition_id: int, certificate_id: int
) -> CertificateRequest | None:
    """The request whose certificate was received but held back (still ``received``), if any."""
    return (
        await s.execute(
            select(CertificateRequest)
            .where(
                CertificateRequest.definition_id == definition_id,
                CertificateRequest.certificate_id == certificate_id,
                CertificateRequest.status == "received",
            )
            .order_by(CertificateRequest.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


REQUEST_AGES = {"day": (None, 1), "week": (None, 7), "month": (None, 30), "older": (30, None)}
"""Age filters of the requests list: (older than N days, younger than N days)."""


async def requests_filtered(
    s: AsyncSession,
    *,
    now: dt.datetime,
    status: str = "",
    issuer: str = "",
    age: str = "",
    q: str = "",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[tuple[CertificateRequest, str]], int]:
    """One page of requests (newest first) with their definition's name, and how many match.

    ``status`` is a request state or ``open`` (any unfinished one); ``age`` a key of
    :data:`REQUEST_AGES` (by creation time); ``q`` text in the definition's name or common
    name or the order number, or the request's number.
    """
    stmt = select(CertificateRequest.id)
    if q:
        like = contains(q)
        match = or_(
            CertificateDefinition.name.ilike(like, escape=LIKE_ESCAPE),
            CertificateDefinition.common_name.ilike(like, escape=LIKE_ESCAPE),
            CertificateRequest.order_number.ilike(like, escape=LIKE_ESCAPE),
        )
        if q.isdigit() and len(q) < 10:
            match = or_(match, CertificateRequest.id == int(q))
        stmt = stmt.join(
            CertificateDefinition, CertificateDefinition.id == CertificateRequest.definition_id
        ).where(match)
    if status == "open":
        stmt = stmt.where(CertificateRequest.status.not_in(_FINISHED))
    elif status:
        stmt = stmt.where(CertificateRequest.status == status)
    if issuer:
        stmt = stmt.where(CertificateRequest.issuer_kind == issuer)
    if age:
        older, younger = REQUEST_AGES[age]
        if older is not None:
            stmt = stmt.where(CertificateRequest.created_at < now - dt.timedelta(days=older))
        if younger is not None:
            stmt = stmt.where(CertificateRequest.created_at >= now - dt.timedelta(days=younger))
    ids, total = await page_of(
        s, stmt, (CertificateRequest.id.desc(),), page=page, per_page=per_page
    )
    if not ids:
        return [], total
    rows = await s.execute(
        select(CertificateRequest, CertificateDefinition.name)
        .join(CertificateDefinition, CertificateDefinition.id == CertificateRequest.definition_id)
        .where(CertificateRequest.id.in_(ids))
        .order_by(CertificateRequest.id.desc())
    )
    return [(r, name) for r, name in rows.all()], total
