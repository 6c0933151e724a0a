"""Audit events: the filtered, paged log and its keyset feed for the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from certmgr.controller.db.models import AuditEvent
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains
from certmgr.controller.db.queries._paging import page_of

AUDIT_SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "at": AuditEvent.at,
    "actor": AuditEvent.actor,
    "action": AuditEvent.action,
}


@dataclass(frozen=True)
class AuditFilter:
    """What to show of the audit log; empty values do not filter."""

    actor: str = ""
    action: str = ""
    entity_type: str = ""
    source: str = ""
    since: dt.datetime | None = None  # events at or after
    until: dt.datetime | None = None  # events before
    text: str = ""  # contained in the action, actor or entity id


def _filtered(f: AuditFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if f.since is not None:
        stmt = stmt.where(AuditEvent.at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEvent.at < f.until)
    for value, col in (
        (f.actor, AuditEvent.actor),
        (f.action, AuditEvent.action),
        (f.entity_type, AuditEvent.entity_type),
        (f.source, AuditEvent.source),
    ):
        if value:
            stmt = stmt.where(col == value)
    if f.text:
        like = contains(f.text)
        stmt = stmt.where(
            or_(
                AuditEvent.action.ilike(like, escape=LIKE_ESCAPE),
                AuditEvent.actor.ilike(like, escape=LIKE_ESCAPE),
                AuditEvent.entity_id.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    return stmt


async def audit_events_page(
    s: AsyncSession, f: AuditFilter, *, sort: str, desc: bool, page: int, per_page: int
) -> tuple[list[AuditEvent], int]:
    """One page of matching events (ties broken newest first) and the number of matches."""
    col = AUDIT_SORTS.get(sort, AuditEvent.at)
    order = (col.desc() if desc else col.asc(), AuditEvent.id.desc())
    return await page_of(s, _filtered(f), order, page=page, per_page=per_page)


async def audit_actions(s: AsyncSession) -> list[str]:
    """Every action name that occurs in the log, sorted."""
    return sorted((await s.execute(select(AuditEvent.action).distinct())).scalars().all())


async def audit_events_before(
    s: AsyncSession, f: AuditFilter, *, before_id: int | None, limit: int
) -> list[AuditEvent]:
    """Up to ``limit`` matching events, newest first, with ids below ``before_id``."""
    stmt = _filtered(f).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list((await s.execute(stmt)).scalars().all())
