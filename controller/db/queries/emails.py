"""Sent e-mails: the filtered, paged list, one message, and the keyset feed for the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from certmgr.controller.db.models import SentEmail
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains
from certmgr.controller.db.queries._paging import page_of

EMAIL_SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "at": SentEmail.at,
    "to": SentEmail.to,
    "subject": SentEmail.subject,
    "result": SentEmail.result,
}


def _filtered(result: str, kind: str, text: str) -> Select[SentEmail]:
    stmt = select(SentEmail)
    if result:
        stmt = stmt.where(SentEmail.result == result)
    if kind:
        stmt = stmt.where(SentEmail.kind == kind)
    if text:
        like = contains(text)
        stmt = stmt.where(
            or_(
                SentEmail.to.ilike(like, escape=LIKE_ESCAPE),
                SentEmail.subject.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    return stmt


async def sent_emails_page(
    s: AsyncSession,
    *,
    result: str = "",
    kind: str = "",
    text: str = "",
    sort: str = "at",
    desc: bool = True,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[SentEmail], int]:
    """One page of matching e-mails (ties broken newest first) and the number of matches."""
    col = EMAIL_SORTS.get(sort, SentEmail.at)
    order = (col.desc() if desc else col.asc(), SentEmail.id.desc())
    return await page_of(s, _filtered(result, kind, text), order, page=page, per_page=per_page)


async def sent_emails_before(
    s: AsyncSession, *, before_id: int | None, limit: int
) -> list[SentEmail]:
    """Up to ``limit`` e-mails, newest first, with ids below ``before_id``."""
    stmt = select(SentEmail).order_by(SentEmail.id.desc()).limit(limit)
    if before_id:
        stmt = stmt.where(SentEmail.id < before_id)
    return list((await s.execute(stmt)).scalars().all())
