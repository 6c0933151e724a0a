"""Agents screen: enrolment tokens, approve, revoke, last seen, version, targets found on the host."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from certmgr.controller.services.agents.enrolment import create_enrollment_token, set_status
from certmgr.controller.services.agents.inventory import list_agents
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.errors import status_for
from certmgr.controller.web.forms import choice, form_of, integer, text
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError

routes = web.RouteTableDef()


async def _page(
    request: web.Request, *, token: str | None = None, error: str | None = None, status: int = 200
) -> web.Response:
    ctx = ctx_of(request)
    agents = await list_agents(ctx.db)
    return render(
        request,
        "console/agents.html",
        title="Agents",
        agents=agents,
        token=token,
        error=error,
        now=ctx.clock.now(),
        status=status,
    )


@routes.get("/agents")
async def agents(request: web.Request) -> web.Response:
    """Enrolled agents."""
    return await _page(request)


@routes.post("/agents/token")
async def token(request: web.Request) -> web.Response:
    """A single-use enrolment token, shown once."""
    ctx = ctx_of(request)
    form = await form_of(request)
    try:
        value = await create_enrollment_token(
            ctx.db,
            ctx.require_actor(),
            ctx.clock,
            controller_url=ctx.settings.public_url,
            ca_dir=ctx.settings.ca_dir,
            name_hint=text(form, "name", max_len=200, label="Name"),
            ttl=dt.timedelta(
                hours=integer(form, "hours", default=24, lo=1, hi=720, label="Lifetime")
            ),
            auto_approve=choice(form, "approval", ["auto", "manual"], default="auto") == "auto",
            vault=ctx.vault,
        )
    except CertmgrError as err:
        return await _page(request, error=str(err), status=status_for(err))
    return await _page(request, token=value)


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
    raise redirect(request, "/agents", f"Agent {agent.name} {agent.status}.")
