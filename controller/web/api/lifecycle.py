"""API: a definition's and a deployment's life after creation (edit, archive, restore, delete, current switch, retire)."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller.domain.values import parse_moment
from certmgr.controller.services.acquisition.current import (
    hold_existing,
    release_hold,
    rollback_current,
    switch_current_to,
)
from certmgr.controller.services.acquisition.definition_changes import (
    DefinitionChanges,
    archive_definition,
    delete_definition,
    edit_definition,
    restore_definition,
)
from certmgr.controller.services.acquisition.definition_detail import get_definition
from certmgr.controller.services.deployment.deployment_changes import (
    DeploymentChanges,
    edit_deployment,
    retire_deployment,
    set_deployment_monitoring,
)
from certmgr.controller.views import definition_json
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    bool_field,
    changed_int_field,
    changed_s_field,
    json_body,
    list_field,
    ok,
    only_known_fields,
    path_id,
    s_field,
)
from certmgr.controller.web.context import ctx_of
from certmgr.shared.errors import ValidationError

api = ApiRoutes("lifecycle")

DEPLOYMENT_EDIT = sc.obj(
    {
        "server_name": sc.string(max_len=255),
        "check_host": sc.string(max_len=255),
        "check_port": sc.integer(),
        "sni": sc.string(max_len=255),
        "delivery": sc.string(enum=["agent", "oneclick", "conventional"]),
        "admin_email": sc.string(max_len=1000),
        "name": sc.string(max_len=200),
        "notes": sc.string(max_len=10000),
        "monitoring": sc.boolean(),
    },
    extra=False,
)
REASON = sc.obj({"reason": sc.string(max_len=500)})
DEPLOYMENT_STATE = sc.obj(
    {"id": sc.integer(), "status": sc.string(), "monitoring": sc.boolean()}, ["id", "status"]
)


async def _definition_out(request: web.Request, def_id: int) -> web.Response:
    item = await get_definition(ctx_of(request).db, def_id)
    return ok(definition_json(item.definition, item.current))


@api.op(
    "PATCH",
    "/definitions/{id}",
    "Edit a definition (names, subject, requirements, key type, renewal, issuer, monitoring)",
    request=sc.DEFINITION_EDIT,
    response=sc.DEFINITION,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def edit(request: web.Request) -> web.Response:
    """Change the given fields; the rest stay."""
    ctx, who = actor(request)
    body = await json_body(request)
    only_known_fields(body, sc.DEFINITION_EDIT)
    changes = DefinitionChanges(
        name=changed_s_field(body, "name", max_len=200),
        common_name=changed_s_field(body, "common_name", max_len=64),
        sans=tuple(list_field(body, "sans")) if "sans" in body else None,
        key_type=changed_s_field(body, "key_type", max_len=20),
        issuer_kind=changed_s_field(body, "issuer", max_len=20),
        organization=changed_s_field(body, "organization", max_len=64),
        organizational_unit=changed_s_field(body, "organizational_unit", max_len=64),
        locality=changed_s_field(body, "locality", max_len=64),
        state=changed_s_field(body, "state", max_len=64),
        country=changed_s_field(body, "country", max_len=2),
        requestor=changed_s_field(body, "requestor", max_len=200),
        notes=changed_s_field(body, "notes", max_len=10000),
        validation=changed_s_field(body, "validation", max_len=2),
        vendor=changed_s_field(body, "vendor", max_len=100),
        product_id=changed_s_field(body, "product", max_len=100),
        renew_days_before=changed_int_field(body, "renew_days_before"),
        monitoring=bool_field(body, "monitoring") if "monitoring" in body else None,
    )
    d = await edit_definition(ctx.db, who, path_id(request), changes, ctx.clock)
    return await _definition_out(request, d.id)


@api.op(
    "POST",
    "/definitions/{id}/archive",
    "Archive (retire) a definition: no renewals, no monitoring, history kept",
    request=REASON,
    response=sc.DEFINITION,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def archive(request: web.Request) -> web.Response:
    """Archive."""
    ctx, who = actor(request)
    body = await json_body(request)
    d = await archive_definition(
        ctx.db, who, path_id(request), ctx.clock, reason=s_field(body, "reason")
    )
    return await _definition_out(request, d.id)


@api.op(
    "POST",
    "/definitions/{id}/restore",
    "Restore an archived definition",
    response=sc.DEFINITION,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def restore(request: web.Request) -> web.Response:
    """Restore."""
    ctx, who = actor(request)
    d = await restore_definition(ctx.db, who, path_id(request), ctx.clock)
    return await _definition_out(request, d.id)


@api.op(
    "DELETE",
    "/definitions/{id}",
    "Delete a definition nothing refers to (409 names what does)",
    params=(sc.ID,),
    status=204,
    extra_responses=(409,),
)
async def delete(request: web.Request) -> web.Response:
    """Delete."""
    ctx, who = actor(request)
    await delete_definition(ctx.db, who, path_id(request), ctx.clock)
    return web.Response(status=204)


@api.op(
    "POST",
    "/definitions/{id}/current",
    "Make one of its valid certificates current now, or at hold_until",
    request=sc.CURRENT_SWITCH,
    response=sc.DEFINITION,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def current(request: web.Request) -> web.Response:
    """Switch now, or hold until a time."""
    ctx, who = actor(request)
    body = await json_body(request)
    cert_id = changed_int_field(body, "certificate_id")
    if cert_id is None:
        raise ValidationError("certificate_id is required", field="certificate_id")
    until = parse_moment(s_field(body, "hold_until", max_len=40), field="hold_until")
    if until is None:
        d = await switch_current_to(ctx.db, ctx.vault, who, path_id(request), cert_id, ctx.clock)
    else:
        d = await hold_existing(ctx.db, who, path_id(request), cert_id, until, ctx.clock)
    return await _definition_out(request, d.id)


@api.op(
    "POST",
    "/definitions/{id}/rollback",
    "Make the previous current certificate current again",
    response=sc.DEFINITION,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def rollback(request: web.Request) -> web.Response:
    """Roll back."""
    ctx, who = actor(request)
    d = await rollback_current(ctx.db, ctx.vault, who, path_id(request), ctx.clock)
    return await _definition_out(request, d.id)


@api.op(
    "DELETE",
    "/definitions/{id}/hold",
    "Cancel a held switch",
    response=sc.DEFINITION,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def unhold(request: web.Request) -> web.Response:
    """Cancel the hold."""
    ctx, who = actor(request)
    d = await release_hold(ctx.db, who, path_id(request), ctx.clock)
    return await _definition_out(request, d.id)


@api.op(
    "PATCH",
    "/deployments/{id}",
    "Edit a deployment (server, check host/port/SNI, delivery, admin e-mail) or switch monitoring",
    request=DEPLOYMENT_EDIT,
    response=DEPLOYMENT_STATE,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def edit_dep(request: web.Request) -> web.Response:
    """Change the given fields; ``monitoring`` switches scheduled checks on or off."""
    ctx, who = actor(request)
    body = await json_body(request)
    only_known_fields(body, DEPLOYMENT_EDIT)
    dep_id = path_id(request)
    changes = DeploymentChanges(
        server_name=changed_s_field(body, "server_name", max_len=255),
        check_host=changed_s_field(body, "check_host", max_len=255),
        check_port=changed_int_field(body, "check_port"),
        sni=changed_s_field(body, "sni", max_len=255),
        delivery=changed_s_field(body, "delivery", max_len=20),
        admin_email=changed_s_field(body, "admin_email", max_len=1000),
        name=changed_s_field(body, "name", max_len=200),
        notes=changed_s_field(body, "notes", max_len=10000),
    )
    monitoring = bool_field(body, "monitoring") if "monitoring" in body else None
    if not changes.given() and monitoring is None:
        raise ValidationError("nothing to change: give at least one field", field="body")
    dep = None
    if changes.given():
        dep = await edit_deployment(ctx.db, who, dep_id, changes, ctx.clock)
    if monitoring is not None:
        dep = await set_deployment_monitoring(ctx.db, who, dep_id, monitoring, ctx.clock)
    assert dep is not None  # noqa: S101 - one of the two ran
    return ok({"id": dep.id, "status": dep.status, "monitoring": dep.monitoring})


@api.op(
    "POST",
    "/deployments/{id}/retire",
    "Retire a deployment (the server is gone): no monitoring, no installs, history kept",
    request=REASON,
    response=DEPLOYMENT_STATE,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def retire(request: web.Request) -> web.Response:
    """Retire."""
    ctx, who = actor(request)
    body = await json_body(request)
    dep = await retire_deployment(
        ctx.db, who, path_id(request), ctx.clock, reason=s_field(body, "reason")
    )
    return ok({"id": dep.id, "status": dep.status, "monitoring": dep.monitoring})
