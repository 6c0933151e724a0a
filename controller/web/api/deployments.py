"""API: deployments and their actions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.domain.software import DELIVERIES, SOFTWARE
from certmgr.controller.services.admin.settings import load_general_settings, load_mail_settings
from certmgr.controller.services.agents.work import queue_agent_install
from certmgr.controller.services.deployment.checks import (
    deploy_check,
    record_check_code,
    send_check_result,
)
from certmgr.controller.services.deployment.closing import close
from certmgr.controller.services.deployment.codes import issue_check_key
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.services.deployment.install_request import request_install
from certmgr.controller.services.deployment.prepare import prepare_conventional
from certmgr.controller.services.deployment.views import (
    deployment_detail,
    deployment_rows,
    find_deployment_row,
)
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    bool_field,
    json_body,
    ok,
    path_id,
    s_field,
)
from certmgr.shared.errors import ValidationError

api = ApiRoutes("deployments")

DEPLOYMENT = sc.obj(
    {
        "id": sc.integer(),
        "definition_id": sc.integer(),
        "definition": sc.string(),
        "server_name": sc.string(),
        "software": sc.string(),
        "delivery": sc.string(),
        "status": sc.string(),
        "outdated": sc.boolean(),
        "last_check": {"type": ["object", "null"]},
    },
    ["id", "status"],
)
DEPLOYMENT_NEW = sc.obj(
    {
        "definition": sc.string(max_len=200),
        "server_name": sc.string(max_len=255),
        "software": sc.string(enum=sorted(SOFTWARE)),
        "delivery": sc.string(enum=list(DELIVERIES)),
        "check_host": sc.string(max_len=255),
        "check_port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "sni": sc.string(max_len=253),
        "admin_email": sc.string(max_len=1000),
        "monitoring": sc.boolean(),
        "production": sc.boolean(),
        "agent_id": {"type": ["integer", "null"]},
        "target_params": {"type": "object"},
    },
    ["definition", "server_name"],
)
CHECK = sc.obj(
    {"check_id": sc.integer(), "ok": sc.boolean(), "problems": sc.array(sc.string())}, ["ok"]
)


@api.op(
    "GET",
    "/deployments",
    "List deployments with state and last check",
    response=sc.array(DEPLOYMENT),
)
async def list_(request: web.Request) -> web.Response:
    """Every deployment."""
    ctx, _ = actor(request)
    return ok([r.to_json() for r in await deployment_rows(ctx.db)])


@api.op(
    "POST",
    "/deployments",
    "Create a deployment",
    request=DEPLOYMENT_NEW,
    response=DEPLOYMENT,
    status=201,
)
async def create(request: web.Request) -> web.Response:
    """Deploy information."""
    ctx, who = actor(request)
    body = await json_body(request)
    port = body.get("check_port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        raise ValidationError("check_port must be a whole number", field="check_port")
    agent_id = body.get("agent_id")
    if agent_id is not None and (not isinstance(agent_id, int) or isinstance(agent_id, bool)):
        raise ValidationError("agent_id must be a whole number", field="agent_id")
    params = body.get("target_params", {})
    if not isinstance(params, dict):
        raise ValidationError("target_params must be an object", field="target_params")
    spec = DeploymentSpec(
        definition_ref=s_field(body, "definition", required=True, max_len=200),
        server_name=s_field(body, "server_name", required=True, max_len=255),
        software=s_field(body, "software", default="nginx", max_len=20),
        delivery=s_field(body, "delivery", default="conventional", max_len=20),
        check_host=s_field(body, "check_host", max_len=255),
        check_port=port,
        sni=s_field(body, "sni", max_len=253),
        admin_email=s_field(body, "admin_email", max_len=1000),
        monitoring=bool_field(body, "monitoring", True),
        production=bool_field(body, "production", True),
        target_params=params,
        agent_id=agent_id,
    )
    dep = await create_deployment(ctx.db, who, spec, ctx.clock)
    return ok((await find_deployment_row(ctx.db, dep.id)).to_json(), status=201)


@api.op(
    "GET", "/deployments/{id}", "One deployment with history", response=DEPLOYMENT, params=(sc.ID,)
)
async def get(request: web.Request) -> web.Response:
    """Details and history."""
    ctx, who = actor(request)
    detail = await deployment_detail(ctx.db, who, path_id(request))
    dep = detail.dep
    data: dict[str, Any] = detail.row.to_json()
    data.update(
        check_host=dep.check_host,
        check_port=dep.check_port,
        sni=dep.sni,
        admin_email=dep.admin_email,
        monitoring=dep.monitoring,
    )
    data["history"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "event": e.event, "message": e.message}
        for e in detail.events
    ]
    data["checks"] = [
        {"id": c.id, "at": c.at.isoformat(), "ok": c.ok, "source": c.source, **c.detail}
        for c in detail.checks
    ]
    return ok(data)


@api.op(
    "POST",
    "/deployments/{id}/prepare",
    "Build the conventional package (passphrase returned once; releases the key: Admin)",
    request=sc.obj({"passphrase": sc.string(max_len=1024), "protect": sc.boolean()}),
    response=sc.obj(
        {
            "document_id": sc.integer(),
            "filename": sc.string(),
            "passphrase": sc.string(nullable=True),
        }
    ),
    params=(sc.ID,),
    extra_responses=(409,),
)
async def prepare(request: web.Request) -> web.Response:
    """Prepare to deploy."""
    ctx, who = actor(request)
    body = await json_body(request)
    chosen = s_field(body, "passphrase", max_len=1024)
    res = await prepare_conventional(
        ctx.db,
        ctx.vault,
        who,
        path_id(request),
        ctx.settings.documents_dir,
        ctx.clock,
        passphrase=chosen or None,
        protect=bool_field(body, "protect"),
        home=ctx.settings.home,
    )
    return ok(
        {
            "document_id": res.document.id,
            "filename": res.document.filename,
            "passphrase": None if chosen else res.passphrase,
        }
    )


@api.op(
    "POST",
    "/deployments/{id}/request",
    "Preview or send the install-request e-mail (sending releases the key: Admin)",
    request=sc.obj({"send": sc.boolean()}),
    response=sc.obj(
        {
            "to": sc.array(sc.string()),
            "subject": sc.string(),
            "body": sc.string(),
            "sent": sc.boolean(),
            "result": sc.string(),
        }
    ),
    params=(sc.ID,),
    extra_responses=(409,),
)
async def request_mail(request: web.Request) -> web.Response:
    """Install request."""
    ctx, who = actor(request)
    body = await json_body(request)
    res = await request_install(
        ctx.db,
        ctx.vault,
        who,
        path_id(request),
        ctx.clock,
        send=bool_field(body, "send"),
        mail=await load_mail_settings(ctx.db, ctx.vault),
        general=await load_general_settings(ctx.db),
        base_url=ctx.settings.public_url,
    )
    return ok(
        {
            "to": list(res.to),
            "subject": res.subject,
            "body": res.body,
            "sent": res.sent,
            "result": res.result,
            "error": res.error,
        }
    )


@api.op(
    "POST",
    "/deployments/{id}/check",
    "Run the deploy check now",
    request=sc.obj({"confirm": sc.boolean()}),
    response=CHECK,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def check(request: web.Request) -> web.Response:
    """Deploy check."""
    ctx, who = actor(request)
    body = await json_body(request)
    row, outcome = await deploy_check(
        ctx.db, who, path_id(request), ctx.clock, confirm=bool_field(body, "confirm")
    )
    return ok({"check_id": row.id, **outcome.to_dict()})


@api.op(
    "POST",
    "/deployments/{id}/close",
    "Done, unchecked, manual or installed",
    request=sc.obj(
        {
            "how": sc.string(enum=["done", "unchecked", "manual", "installed"]),
            "note": sc.string(max_len=500),
        },
        ["how"],
    ),
    response=DEPLOYMENT,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def close_(request: web.Request) -> web.Response:
    """Close."""
    ctx, who = actor(request)
    body = await json_body(request)
    dep = await close(
        ctx.db,
        who,
        path_id(request),
        s_field(body, "how", required=True, max_len=20),
        ctx.clock,
        note=s_field(body, "note", max_len=500),
    )
    return ok({"id": dep.id, "status": dep.status})


@api.op(
    "POST",
    "/deployments/{id}/check-code",
    "Record a manual check's result code (made with a check key issued for this deployment)",
    request=sc.obj({"code": sc.string(max_len=200)}, ["code"]),
    response=CHECK,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def check_code(request: web.Request) -> web.Response:
    """Manual check."""
    ctx, who = actor(request)
    body = await json_body(request)
    row, passed = await record_check_code(
        ctx.db,
        ctx.vault,
        who,
        path_id(request),
        s_field(body, "code", required=True, max_len=200),
        ctx.clock,
    )
    return ok({"check_id": row.id, "ok": passed, "problems": [row.error] if row.error else []})


@api.op(
    "POST",
    "/deployments/{id}/check-key",
    "Issue a check key for one manual check (Admin; single use, expires; older keys retire)",
    response=sc.obj(
        {"key": sc.string(), "expires_at": sc.string(), "challenge_id": sc.integer()}, ["key"]
    ),
    params=(sc.ID,),
    admin=True,
    status=201,
)
async def check_key(request: web.Request) -> web.Response:
    """A new challenge's key, shown once."""
    ctx, who = actor(request)
    issued = await issue_check_key(ctx.db, ctx.vault, who, path_id(request), ctx.clock)
    return ok(
        {
            "key": issued.key_text,
            "expires_at": issued.expires_at.isoformat(),
            "challenge_id": issued.challenge_id,
        },
        status=201,
    )


@api.op(
    "POST",
    "/deployments/{id}/send-result",
    "E-mail the last check result to the server administrator",
    response=sc.obj({"result": sc.string()}),
    params=(sc.ID,),
    extra_responses=(409,),
)
async def send_result(request: web.Request) -> web.Response:
    """Send the result."""
    ctx, who = actor(request)
    return ok(
        {
            "result": await send_check_result(
                ctx.db,
                who,
                path_id(request),
                ctx.clock,
                mail=await load_mail_settings(ctx.db, ctx.vault),
            )
        }
    )


@api.op(
    "POST",
    "/deployments/{id}/install",
    "Try auto-install: send the package to the deployment's agent (releases the key: Admin)",
    response=sc.obj({"agent_id": sc.integer(), "sequence": sc.integer()}),
    params=(sc.ID,),
    extra_responses=(409,),
)
async def install(request: web.Request) -> web.Response:
    """Queue the package for the agent and wake it."""
    ctx, who = actor(request)
    (q,) = await queue_agent_install(
        ctx.db, ctx.vault, who, [path_id(request)], ctx.clock, request.app[appkeys.AGENT_WAKEUPS]
    )
    return ok({"agent_id": q.agent_id, "sequence": q.sequence})


@api.op(
    "POST",
    "/deployments/bulk/install",
    "Try auto-install on many agent deployments at once (releases the keys: Admin)",
    request=sc.obj({"deployments": sc.array(sc.integer(), max_items=10000)}, ["deployments"]),
    response=sc.obj({"queued": sc.integer()}),
    extra_responses=(409,),
)
async def bulk_install(request: web.Request) -> web.Response:
    """Queue every package in one transaction, then wake the agents."""
    ctx, who = actor(request)
    body = await json_body(request)
    ids = body.get("deployments")
    if (
        not isinstance(ids, list)
        or not ids
        or len(ids) > 10000
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in ids)
    ):
        raise ValidationError("deployments must be a list of 1-10000 ids", field="deployments")
    queued = await queue_agent_install(
        ctx.db, ctx.vault, who, ids, ctx.clock, request.app[appkeys.AGENT_WAKEUPS]
    )
    return ok({"queued": len(queued)})
