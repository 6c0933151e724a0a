"""API: a definition's and a deployment's life after creation (edit, archive, restore, delete, current switch, retire)."""

from __future__ import annotations

from typing import Any

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
from certmgr.controller.services.acquisition.definitions import get_definition
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
    json_body,
    list_field,
    ok,
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


def _opt_s(body: dict[str, Any], name: str, max_len: int) -> str | None:
    return s_field(body, name, max_len=max_len) if name in body else None


def _opt_int(body: dict[str, Any], name: str) -> int | None:
    if name not in body or body[name] is None:
        return None
    v = body[name]
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValidationError(f"{name} must be an integer", field=name)
    return v


def _known(body: dict[str, Any], allowed: dict[str, Any]) -> None:
    unknown = sorted(set(body) - set(allowed["properties"]))
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])


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
    _known(body, sc.DEFINITION_EDIT)
    changes = DefinitionChanges(
        name=_opt_s(body, "name", 200),
        common_name=_opt_s(body, "common_name", 64),
        sans=tuple(list_field(body, "sans")) if "sans" in body else None,
        key_type=_opt_s(body, "key_type", 20),
        issuer_kind=_opt_s(body, "issuer", 20),
        organization=_opt_s(body, "organization", 64),
        organizational_unit=_opt_s(body, "organizational_unit", 64),
        locality=_opt_s(body, "locality", 64),
        state=_opt_s(body, "state", 64),
        country=_opt_s(body, "country", 2),
        requestor=_opt_s(body, "requestor", 200),
        notes=_opt_s(body, "notes", 10000),
        validation=_opt_s(body, "validation", 2),
        vendor=_opt_s(body, "vendor", 100),
        product_id=_opt_s(body, "product", 100),
        renew_days_before=_opt_int(body, "renew_days_before"),
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
    cert_id = _opt_int(body, "certificate_id")
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
    _known(body, DEPLOYMENT_EDIT)
    dep_id = path_id(request)
    changes = DeploymentChanges(
        server_name=_opt_s(body, "server_name", 255),
        check_host=_opt_s(body, "check_host", 255),
        check_port=_opt_int(body, "check_port"),
        sni=_opt_s(body, "sni", 255),
        delivery=_opt_s(body, "delivery", 20),
        admin_email=_opt_s(body, "admin_email", 1000),
        name=_opt_s(body, "name", 200),
        notes=_opt_s(body, "notes", 10000),
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
