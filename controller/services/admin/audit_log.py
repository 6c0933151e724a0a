"""Reading the audit log: the console's filtered pages and the API's feed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AuditEvent
from certmgr.controller.db.queries.audit import (
    AuditFilter,
    audit_actions,
    audit_events_before,
    audit_events_page,
)
from certmgr.controller.services.admin.refusals import RefusalSummary, refusal_summary
from certmgr.controller.services.certificates.overview import Page

__all__ = ["AuditEvent", "AuditFilter", "AuditLogPage", "audit_feed", "audit_log_page"]

REFUSALS_OVER = dt.timedelta(days=1)


@dataclass(frozen=True)
class AuditLogPage:
    """One page of the Audit Log screen, the actions to filter by and recent IP refusals."""

    page: Page[AuditEvent]
    actions: list[str]
    refusals: list[RefusalSummary]


async def audit_log_page(
    db: Database,
    f: AuditFilter,
    *,
    now: dt.datetime,
    sort: str = "at",
    desc: bool = True,
    page: int = 1,
    per_page: int = 50,
) -> AuditLogPage:
    """A page of matching events, with every action name and the last day's IP refusals."""
    async with db.reader() as s:
        rows, total = await audit_events_page(
            s, f, sort=sort, desc=desc, page=page, per_page=per_page
        )
        actions = await audit_actions(s)
    return AuditLogPage(
        Page(rows, total, page, per_page), actions, await refusal_summary(db, now - REFUSALS_OVER)
    )


async def audit_feed(
    db: Database, f: AuditFilter, *, before_id: int | None, limit: int
) -> list[AuditEvent]:
    """Up to ``limit`` matching events, newest first, older than event ``before_id``."""
    async with db.reader() as s:
        return await audit_events_before(s, f, before_id=before_id, limit=limit)
