"""Agents screen: enrolment tokens, approve, revoke, last seen, version, targets found on the host."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from certmgr.controller.domain.state_labels import state_label
from certmgr.controller.services.agents.enrolment import create_enrollment_token, set_status
from certmgr.controller.services.agents.inventory import list_agents
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.errors import status_for
from certmgr.controller.web.forms import FormErrors, choice, form_of, integer, text
from certmgr.controller.web.render import redirect, render
from certmgr.controller.web.reveal import hold_and_redirect, take
from certmgr.shared.errors import CertmgrError, ValidationError

routes = web.RouteTableDef()


async def _page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    ctx = ctx_of(request)
    agents = await list_agents(ctx.db)
    held = await take(request, "agents") if status == 200 else None
    return render(
        request,
        "console/agents.html",
        title="Agents",
        agents=agents,
        token=held["token"] if held else None,
        errors=errors or {},
        error=error,
        values={"hours": "24", **(values or {})},
        now=ctx.clock.now(),
        status=status,
    )


@routes.get("/agents")
async def agents(request: web.Request) -> web.Response:
    """Enrolled agents (an enrolment token just made is shown here once)."""
    return await _page(request)


@routes.post("/agents/token")
async def token(request: web.Request) -> web.Response:
    """A single-use enrolment token, shown once on the page this redirects to."""
    ctx = ctx_of(request)
    form = await form_of(request)
    errors = FormErrors()
    name = errors.read(lambda: text(form, "name", max_len=200, label="Agent name"), "")
    hours = errors.read(
        lambda: integer(form, "hours", default=24, lo=1, hi=720, label="Token lifetime"), 24
    )
    approval = errors.read(
        lambda: choice(form, "approval", ["auto", "manual"], default="auto", label="Approval"),
        "auto",
    )
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    if errors:
        return await _page(request, errors=errors.by_field, values=values, status=422)
    try:
        value = await create_enrollment_token(
            ctx.db,
            ctx.require_actor(),
            ctx.clock,
            controller_url=ctx.settings.public_url,
            ca_dir=ctx.settings.ca_dir,
            name_hint=name,
            ttl=dt.timedelta(hours=hours),
            auto_approve=approval == "auto",
            vault=ctx.vault,
        )
    except ValidationError as err:
        errors.add(err)
        return await _page(request, errors=errors.by_field, values=values, status=422)
    except CertmgrError as err:
        return await _page(request, values=values, error=str(err), status=status_for(err))
    raise await hold_and_redirect(
        request, "/agents#enrol", "agents", {"token": value}, "Enrolment token created."
    )


@routes.post("/agents/{id:\\d+}/{action:approve|revoke}")
async def change(request: web.Request) -> web.Response:
    """Approve or revoke."""
    ctx = ctx_of(request)
    action = request.match_info["action"]
    try:
        agent = await set_status(
            ctx.db,
            ctx.require_actor(),
            int(request.match_info["id"]),
            "approved" if action == "approve" else "revoked",
            ctx.clock,
        )
    except CertmgrError as err:
        return await _page(request, error=str(err), status=status_for(err))
    raise redirect(
        request, "/agents", f"Agent {agent.name} is {state_label('agent', agent.status)}."
    )
