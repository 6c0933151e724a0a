"""API: monitoring (jobs, run now, check history), findings, acquisitions, readiness, webhooks, outbox."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.scheduler import leases
from certmgr.controller.scheduler.jobs import MONITORING
from certmgr.controller.services.monitoring.checks import check_deployment_now
from certmgr.controller.services.monitoring.config import load_monitor_config
from certmgr.controller.services.monitoring.daily import ongoing_requests, renewals_due
from certmgr.controller.services.monitoring.readiness import readiness_report
from certmgr.controller.services.monitoring.views import RESULTS, check_history, findings_page
from certmgr.controller.services.notification.alerts import finding_json
from certmgr.controller.services.notification.outbox import message_json, outbox_page, retry_now
from certmgr.controller.services.notification.webhooks import (
    EVENTS,
    add_webhook,
    list_webhooks,
    remove_webhook,
    webhook_json,
)
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    decode_cursor,
    encode_cursor,
    int_param,
    json_body,
    list_field,
    ok,
    path_id,
    s_field,
)
from certmgr.shared.errors import NotFoundError, ValidationError

api = ApiRoutes("monitoring")

JOB = sc.obj(
    {
        "name": sc.string(),
        "holder": sc.string(),
        "running": sc.boolean(),
        "next_run_at": sc.string(fmt="date-time", nullable=True),
        "last_started_at": sc.string(fmt="date-time", nullable=True),
        "last_finished_at": sc.string(fmt="date-time", nullable=True),
        "last_result": sc.string(),
        "last_error": sc.string(),
        "last_duration_ms": sc.integer(),
        "runs": sc.integer(),
        "failures": sc.integer(),
        "progress": {"type": "object"},
    },
    ["name"],
)
CHECK = sc.obj(
    {
        "id": sc.integer(),
        "deployment_id": sc.integer(),
        "at": sc.string(fmt="date-time"),
        "source": sc.string(),
        "ok": sc.boolean(),
        "reachable": sc.boolean(),
        "served_sha256": sc.string(),
        "outcome": sc.string(enum=["ok", "failed", "unreachable"]),
        "matches_current": {"type": ["boolean", "null"]},
        "chain_complete": {"type": ["boolean", "null"]},
        "days_left": sc.integer(nullable=True),
        "error": sc.string(),
    },
    ["id", "ok"],
)
FINDING = sc.obj(
    {
        "id": sc.integer(),
        "key": sc.string(),
        "kind": sc.string(),
        "severity": sc.string(),
        "state": sc.string(),
        "message": sc.string(),
        "definition_id": sc.integer(nullable=True),
        "deployment_id": sc.integer(nullable=True),
        "opened_at": sc.string(fmt="date-time"),
        "cleared_at": sc.string(fmt="date-time", nullable=True),
    },
    ["id", "kind", "state"],
)
WEBHOOK = sc.obj(
    {
        "id": sc.integer(),
        "url": sc.string(),
        "events": sc.array(sc.string()),
        "enabled": sc.boolean(),
        "created_at": sc.string(fmt="date-time"),
        "secret": sc.string(),
    },
    ["id", "url"],
)
MESSAGE = sc.obj(
    {
        "id": sc.integer(),
        "channel": sc.string(),
        "target": sc.string(),
        "subject": sc.string(),
        "kind": sc.string(),
        "state": sc.string(),
        "attempts": sc.integer(),
        "next_attempt_at": sc.string(fmt="date-time", nullable=True),
        "last_error": sc.string(),
    },
    ["id", "state"],
)


def _q(name: str, values: tuple[str, ...] | list[str], description: str) -> dict[str, object]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "string", "enum": list(values)},
    }


@api.op(
    "GET",
    "/monitor/jobs",
    "Scheduled jobs with their lease, last run and progress",
    response=sc.array(JOB),
)
async def jobs(request: web.Request) -> web.Response:
    """Jobs."""
    ctx, _ = actor(request)
    now = ctx.clock.now()
    return ok(
        [
            {
                "name": j.name,
                "holder": j.holder,
                "running": bool(j.holder and j.lease_until and j.lease_until > now),
                "next_run_at": j.next_run_at.isoformat() if j.next_run_at else None,
                "last_started_at": j.last_started_at.isoformat() if j.last_started_at else None,
                "last_finished_at": j.last_finished_at.isoformat() if j.last_finished_at else None,
                "last_result": j.last_result,
                "last_error": j.last_error,
                "last_duration_ms": j.last_duration_ms,
                "runs": j.runs,
                "failures": j.failures,
                "progress": j.progress,
            }
            for j in await leases.all_jobs(ctx.db)
        ]
    )


@api.op(
    "POST",
    "/monitor/run",
    "Run monitoring now: every deployment (in the background) or one (answered with its result)",
    request=sc.obj({"deployment_id": sc.integer(nullable=True), "job": sc.string(max_len=50)}),
    response=sc.obj({"started": sc.boolean(), "job": sc.string(), "check": CHECK}),
    extra_responses=(404,),
)
async def run(request: web.Request) -> web.Response:
    """Run now."""
    ctx, who = actor(request)
    body = await json_body(request)
    dep = body.get("deployment_id")
    if dep is not None:
        if not isinstance(dep, int) or isinstance(dep, bool) or not 0 < dep < 2**31:
            raise ValidationError(
                "deployment_id must be a deployment number", field="deployment_id"
            )
        row = await check_deployment_now(
            ctx.db, who, dep, ctx.clock, await load_monitor_config(ctx.db)
        )
        history = await check_history(ctx.db, deployment_id=dep, per_page=1)
        check = history.items[0].to_json() if history.items else {"id": row.id, "ok": row.ok}
        return ok({"started": False, "job": "", "check": check})
    scheduler = request.app[appkeys.SCHEDULER]
    name = s_field(body, "job", max_len=50, default=MONITORING) or MONITORING
    if name not in scheduler.jobs:
        raise NotFoundError(f"no job {name!r}; jobs: {', '.join(scheduler.jobs)}")
    return ok({"started": scheduler.trigger(name), "job": name})


@api.op(
    "GET",
    "/monitor/checks",
    "Check history, newest first (filters: deployment, result, source, q)",
    response=sc.page_of(CHECK),
    params=(
        sc.LIMIT,
        sc.CURSOR,
        {"name": "deployment", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        _q("result", RESULTS, "ok, failed or unreachable"),
        {"name": "source", "in": "query", "schema": {"type": "string", "maxLength": 20}},
        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
    ),
)
async def checks(request: web.Request) -> web.Response:
    """History."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 100, 1, 500)
    after = decode_cursor(request)
    dep = int_param(request, "deployment", 0, 0, 2**31 - 1)
    result = request.query.get("result", "")
    if result and result not in RESULTS:
        raise ValidationError(f"result must be one of {', '.join(RESULTS)}", field="result")
    page = await check_history(
        ctx.db,
        deployment_id=dep or None,
        result=result,
        source=request.query.get("source", "")[:20],
        q=request.query.get("q", "")[:200],
        per_page=limit,
        after_id=after or None,
    )
    items = [r.to_json() for r in page.items]
    more = len(items) == limit and page.total > limit
    return ok({"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if more else None})


@api.op(
    "GET",
    "/findings",
    "Findings (open by default) with what they concern",
    response=sc.array(FINDING),
    params=(
        _q("state", ("open", "cleared", "all"), "which findings"),
        {"name": "kind", "in": "query", "schema": {"type": "string", "maxLength": 30}},
    ),
)
async def findings(request: web.Request) -> web.Response:
    """Findings."""
    ctx, _ = actor(request)
    state = request.query.get("state", "open")
    if state not in ("open", "cleared", "all"):
        raise ValidationError("state must be open, cleared or all", field="state")
    page = await findings_page(
        ctx.db, state=state, kind=request.query.get("kind", "")[:30], per_page=1000
    )
    return ok([finding_json(r.finding) for r in page.items])


@api.op(
    "GET",
    "/acquisitions",
    "Ongoing requests (age, last event) and definitions due for renewal",
    response=sc.obj({"ongoing": sc.array({"type": "object"}), "due": sc.array({"type": "object"})}),
)
async def acquisitions(request: web.Request) -> web.Response:
    """Acquisition Processes."""
    ctx, _ = actor(request)
    now = ctx.clock.now()
    return ok(
        {
            "ongoing": [
                {
                    "id": r.id,
                    "definition_id": r.definition_id,
                    "definition": r.definition,
                    "kind": r.kind,
                    "status": r.status,
                    "issuer": r.issuer_kind,
                    "age_days": r.age_days,
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "next_attempt_at": r.next_attempt_at,
                    "last_event_at": r.last_event_at,
                    "last_event": r.last_event,
                }
                for r in await ongoing_requests(ctx.db, now)
            ],
            "due": [
                {
                    "definition_id": r.definition_id,
                    "definition": r.name,
                    "issuer": r.issuer_kind,
                    "not_after": r.not_after,
                    "due_at": r.due_at,
                    "request_id": r.request_id,
                    "request_status": r.request_status,
                }
                for r in await renewals_due(ctx.db, now)
            ],
        }
    )


@api.op(
    "GET",
    "/reports/readiness",
    "Readiness for 100-day (2027) and 47-day (2029) lifetimes",
    response=sc.obj(
        {"definitions": sc.array({"type": "object"}), "totals": sc.array({"type": "object"})}
    ),
)
async def readiness(request: web.Request) -> web.Response:
    """Readiness report."""
    ctx, _ = actor(request)
    return ok((await readiness_report(ctx.db)).to_json())


@api.op(
    "GET",
    "/webhooks",
    "Webhooks (URLs without their path; secrets never)",
    response=sc.array(WEBHOOK),
)
async def webhooks(request: web.Request) -> web.Response:
    """Webhooks."""
    ctx, _ = actor(request)
    return ok([webhook_json(h) for h in await list_webhooks(ctx.db)])


@api.op(
    "POST",
    "/webhooks",
    "Add a webhook (admin); the signing secret is returned once",
    request=sc.obj(
        {
            "url": sc.string(max_len=1000),
            "events": sc.array(sc.string(enum=list(EVENTS)), max_items=10),
            "secret": sc.string(max_len=200),
        },
        ["url"],
    ),
    response=WEBHOOK,
    status=201,
)
async def add(request: web.Request) -> web.Response:
    """Add."""
    ctx, who = actor(request)
    body = await json_body(request)
    secret = s_field(body, "secret", max_len=200)
    hook, revealed = await add_webhook(
        ctx.db,
        ctx.vault,
        who,
        s_field(body, "url", required=True, max_len=1000),
        ctx.clock,
        events=list_field(body, "events", max_items=10, max_len=30),
        secret=secret or None,
    )
    return ok({**webhook_json(hook), "secret": revealed.reveal()}, status=201)


@api.op("DELETE", "/webhooks/{id}", "Remove a webhook (admin)", params=(sc.ID,), status=204)
async def delete(request: web.Request) -> web.Response:
    """Remove."""
    ctx, who = actor(request)
    await remove_webhook(ctx.db, who, path_id(request), ctx.clock)
    return web.Response(status=204)


@api.op(
    "GET",
    "/outbox",
    "Notifications waiting, sent or given up",
    response=sc.obj({"items": sc.array(MESSAGE), "counts": {"type": "object"}}),
    params=(_q("state", ("pending", "sent", "failed"), "only this state"),),
)
async def outbox(request: web.Request) -> web.Response:
    """Outbox."""
    ctx, _ = actor(request)
    state = request.query.get("state", "")
    if state and state not in ("pending", "sent", "failed"):
        raise ValidationError("state must be pending, sent or failed", field="state")
    rows, counts = await outbox_page(ctx.db, state=state)
    return ok({"items": [message_json(m) for m in rows], "counts": counts})


@api.op(
    "POST",
    "/outbox/{id}/retry",
    "Deliver an undelivered message at the next outbox run",
    response=MESSAGE,
    params=(sc.ID,),
)
async def retry(request: web.Request) -> web.Response:
    """Retry."""
    ctx, who = actor(request)
    return ok(message_json(await retry_now(ctx.db, who, path_id(request), ctx.clock)))
