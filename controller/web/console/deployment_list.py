"""Deployment Processes: the list (server-side filters, bulk check and install) and the new-deployment form."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.domain.software import DELIVERIES, SOFTWARE
from certmgr.controller.domain.state_labels import STATE_LABELS
from certmgr.controller.domain.status import check_badge
from certmgr.controller.services.agents.work import queue_agent_install
from certmgr.controller.services.deployment.checks import (
    deploy_check,
)
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.services.deployment.views import (
    DEPLOYMENT_SORTS,
    DEPLOYMENT_VIEWS,
    deployments_page,
)
from certmgr.controller.web.console.tasks import run_as_task
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import (
    FormErrors,
    ListQuery,
    back_to,
    checkbox,
    choice,
    form_of,
    integer,
    text,
    ticked,
)
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError, ValidationError

routes = web.RouteTableDef()


@routes.get("/deployments")
async def deployments(request: web.Request) -> web.Response:
    """Deployments filtered (text, state, delivery, what needs a person), sorted and paged on the server."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request,
        sortable=list(DEPLOYMENT_SORTS),
        default_sort="id",
        filters=("view", "state", "delivery"),
    )
    view = q.filter("view") if q.filter("view") in DEPLOYMENT_VIEWS else "all"
    listing = await deployments_page(
        ctx.db,
        q=q.q,
        status=q.filter("state") if q.filter("state") in STATE_LABELS["deployment"] else "",
        delivery=q.filter("delivery") if q.filter("delivery") in DELIVERIES else "",
        view=view,
        sort=q.sort,
        desc=q.desc,
        page=q.page,
        per_page=q.per_page,
    )
    return render(
        request,
        "console/deployments.html",
        title="Deployment Processes",
        page=listing.page,
        counts=listing.counts,
        view=view,
        q=q,
        deliveries=list(DELIVERIES),
        may_release_keys=ctx.require_actor().may_release_keys,
    )


@routes.post("/deployments/bulk")
async def bulk(request: web.Request) -> web.Response:
    """The ticked deployments: check them now, or (admins) install through their agents."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    ids = ticked(form, "deployment", limit=1000)
    back = back_to(form, "/deployments")
    if not ids:
        raise redirect(request, back, "Tick at least one deployment.", "bad")
    action = form.get("action")
    if action == "install":
        try:
            queued = await queue_agent_install(
                ctx.db, ctx.vault, actor, ids, ctx.clock, request.app[appkeys.AGENT_WAKEUPS]
            )
        except CertmgrError as err:
            raise redirect(request, back, f"Nothing sent: {err}", "bad") from err
        raise redirect(
            request,
            back,
            f"{len(queued)} package(s) sent to their agents; each deployment is confirmed once "
            "its agent reports and the check passes.",
        )
    if action != "check":
        raise web.HTTPBadRequest(text="unknown action")

    async def check_one(dep_id: int) -> str:
        row, _ = await deploy_check(ctx.db, actor, dep_id, ctx.clock)
        badge = check_badge(row.ok, row.reachable, row.served_sha256)
        return f"Deployment #{dep_id}: {badge.label}" + (
            f" ({row.error[:200]})" if row.error else ""
        )

    raise await run_as_task(
        request,
        kind="deployments.check",
        title=f"Check {len(ids)} deployment(s)",
        items=ids,
        step=check_one,
        location=back,
    )


def _new_page(
    request: web.Request,
    def_id: int,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "console/deployment_new.html",
        title="New deployment",
        def_id=def_id,
        software=SOFTWARE,
        deliveries=DELIVERIES,
        values=values,
        errors=errors,
        status=status,
    )


@routes.get("/definitions/{id:\\d+}/deployments/new")
async def new_form(request: web.Request) -> web.Response:
    """Deploy information form."""
    return _new_page(request, int(request.match_info["id"]), {}, {})


@routes.post("/definitions/{id:\\d+}/deployments/new")
async def new_submit(request: web.Request) -> web.Response:
    """Create a deployment; every wrong field is shown at once, beside the field."""
    ctx = ctx_of(request)
    def_id = int(request.match_info["id"])
    form = await form_of(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    errors = FormErrors()
    software = errors.read(
        lambda: choice(form, "software", list(SOFTWARE), label="Server software"), "nginx"
    )

    def field(name: str, label: str, max_len: int, *, required: bool = False) -> str:
        return errors.read(
            lambda: text(form, name, required=required, max_len=max_len, label=label), ""
        )

    spec = DeploymentSpec(
        definition_ref=def_id,
        server_name=field("server_name", "Server name", 255, required=True),
        software=software,
        delivery=errors.read(
            lambda: choice(form, "delivery", DELIVERIES, label="Delivery"), DELIVERIES[0]
        ),
        check_host=field("check_host", "Check host", 255),
        check_port=errors.read(
            lambda: integer(
                form,
                "check_port",
                default=SOFTWARE[software].default_port,
                lo=1,
                hi=65535,
                label="Check port",
            ),
            SOFTWARE[software].default_port,
        ),
        sni=field("sni", "SNI", 253),
        admin_email=field("admin_email", "Server administrator e-mail", 1000),
        monitoring=checkbox(form, "monitoring"),
        production=checkbox(form, "production"),
    )
    if not errors:
        try:
            dep = await create_deployment(ctx.db, ctx.require_actor(), spec, ctx.clock)
        except ValidationError as err:
            errors.add(err)
        else:
            raise redirect(request, f"/deployments/{dep.id}", "Deployment created.")
    return _new_page(request, def_id, values, errors.by_field, status=422)
