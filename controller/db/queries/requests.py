"""Queries of certificate requests and their history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import CertificateRequest, RequestEvent
from certmgr.controller.domain.states import ONGOING_REQUEST
from certmgr.shared.errors import NotFoundError

_FINISHED = ("done", "cancelled")


async def request_by_ref(s: AsyncSession, ref: str | int) -> CertificateRequest:
    """A request by id.

    Raises:
        NotFoundError: No such request.
    """
    try:
        rid = int(ref)
    except (TypeError, ValueError):
        raise NotFoundError(f"no request {ref!r}") from None
    row = await s.get(CertificateRequest, rid)
    if row is None:
        raise NotFoundError(f"no request {ref!r}")
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
