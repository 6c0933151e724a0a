"""API: sent e-mails and the audit log, newest first with cursors; the backups taken (admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from certmgr.controller.services.admin.audit_log import AuditFilter, audit_feed
from certmgr.controller.services.admin.backup import list_runs
from certmgr.controller.services.notification.sent_emails import sent_emails_feed
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    decode_cursor,
    encode_cursor,
    int_param,
    ok,
)

if TYPE_CHECKING:
    from certmgr.controller.services.notification.sent_emails import SentEmail

api = ApiRoutes("administration")


def email_json(m: SentEmail) -> dict[str, Any]:
    """A sent e-mail as the API shows it."""
    return {
        "id": m.id,
        "at": m.at,
        "kind": m.kind,
        "to": m.to,
        "subject": m.subject,
        "result": m.result,
        "error": m.error,
        "body": m.body,
    }


@api.op(
    "GET",
    "/emails",
    "Sent e-mails, newest first",
    response=sc.page_of(sc.EMAIL),
    params=(sc.LIMIT, sc.CURSOR),
)
async def emails(request: web.Request) -> web.Response:
    """Sent Emails."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 100, 1, 500)
    after = decode_cursor(request)
    rows = await sent_emails_feed(ctx.db, before_id=after, limit=limit)
    return ok(
        {
            "items": [email_json(m) for m in rows],
            "next_cursor": encode_cursor(rows[-1].id) if len(rows) == limit else None,
        }
    )


@api.op(
    "GET",
    "/audit",
    "Audit events, newest first",
    response=sc.page_of(sc.AUDIT),
    params=(
        sc.LIMIT,
        sc.CURSOR,
        {"name": "actor", "in": "query", "schema": {"type": "string"}},
        {"name": "action", "in": "query", "schema": {"type": "string"}},
    ),
)
async def audit_log(request: web.Request) -> web.Response:
    """Who did what, when, from where."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 100, 1, 500)
    after = decode_cursor(request)
    wanted = AuditFilter(
        actor=request.query.get("actor", "")[:200], action=request.query.get("action", "")[:200]
    )
    rows = await audit_feed(ctx.db, wanted, before_id=after, limit=limit)
    items = [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "source": e.source,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "detail": e.detail,
        }
        for e in rows
    ]
    return ok(
        {"items": items, "next_cursor": encode_cursor(rows[-1].id) if len(rows) == limit else None}
    )


BACKUP_RUN = sc.obj(
    {
        "id": sc.integer(),
        "started_at": sc.string(fmt="date-time"),
        "finished_at": sc.string(fmt="date-time"),
        "trigger": sc.string(),
        "result": sc.string(),
        "file": sc.string(),
        "size": sc.integer(),
        "master_key_included": {"type": "boolean"},
        "pruned": {"type": "boolean"},
        "error": sc.string(),
    },
    ["id", "started_at", "trigger", "result", "size"],
)


@api.op(
    "GET",
    "/backups",
    "Backups taken (manual and scheduled), newest first, with size and result (admins)",
    response=sc.array(BACKUP_RUN),
    params=(sc.LIMIT,),
)
async def backups(request: web.Request) -> web.Response:
    """The latest backups."""
    ctx, _ = actor(request)
    rows = await list_runs(ctx.db, int_param(request, "limit", 100, 1, 500))
    return ok(
        [
            {
                "id": r.id,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "trigger": r.trigger,
                "result": r.result,
                "file": r.path.rsplit("/", 1)[-1],
                "size": r.size,
                "master_key_included": r.master_key_included,
                "pruned": r.pruned,
                "error": r.error,
            }
            for r in rows
        ]
    )
