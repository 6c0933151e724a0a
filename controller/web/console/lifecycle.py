"""A definition's and a deployment's life after creation: edit, archive, restore, delete, switch, roll back, hold, retire."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from certmgr.controller.domain.software import DELIVERIES
from certmgr.controller.domain.values import VALIDATION_LEVELS, IssuerKind, parse_moment
from certmgr.controller.services.acquisition.catalogue import catalogue
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
from certmgr.controller.services.deployment.views import deployment_detail
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import (
    FormErrors,
    choice,
    form_of,
    integer,
    lines,
    multiline,
    text,
)
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError, ConflictError, ValidationError
from certmgr.shared.pki import KeyType

routes = web.RouteTableDef()


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _definition_values(d: Any) -> dict[str, str]:
    req = d.requirements or {}
    return {
        "name": d.name,
        "common_name": d.common_name,
        "sans": "\n".join(d.sans),
        "key_type": d.key_type,
        "issuer_kind": d.issuer_kind,
        "organization": d.organization,
        "organizational_unit": d.organizational_unit,
        "locality": d.locality,
        "state": d.state,
        "country": d.country,
        "requestor": d.requestor,
        "notes": d.notes,
        "validation": str(req.get("validation", "")),
        "vendor": str(req.get("vendor", "")),
        "product": d.product_id or "",
        "renew_days_before": str((d.renewal_policy or {}).get("days_before", "")),
    }


def _edit_page(
    request: web.Request,
    d: Any,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "console/definition_edit.html",
        title=f"Edit {d.name}",
        d=d,
        values=values,
        errors=errors or {},
        key_types=[k.value for k in KeyType],
        issuers=[k.value for k in IssuerKind if k.value != "imported"],
        levels=VALIDATION_LEVELS,
        products=catalogue(),
        status=status,
    )


@routes.get("/definitions/{id:\\d+}/edit")
async def edit_form(request: web.Request) -> web.Response:
    """The definition's fields and requirements, ready to change."""
    d = (await get_definition(ctx_of(request).db, _id(request))).definition
    return _edit_page(request, d, _definition_values(d))


def _changes(form: Any, errors: FormErrors) -> DefinitionChanges:
    """The edit form read field by field: every wrong one is noted in ``errors``."""

    def line(name: str, label: str, max_len: int, *, required: bool = False) -> str:
        return errors.read(
            lambda: text(form, name, required=required, max_len=max_len, label=label), ""
        )

    def pick(name: str, options: list[str], label: str, default: str | None = None) -> str:
        return errors.read(lambda: choice(form, name, options, default=default, label=label), "")

    days = errors.read(
        lambda: integer(
            form, "renew_days_before", default=0, lo=0, hi=3650, label="Renew days before"
        ),
        0,
    )
    monitoring = pick("monitoring", ["", "on", "off"], "Monitoring", "")
    return DefinitionChanges(
        name=line("name", "Name", 200, required=True),
        common_name=line("common_name", "Common name", 64),
        sans=tuple(
            lines(errors.read(lambda: multiline(form, "sans", max_len=20000, label="SANs"), ""))
        ),
        key_type=pick("key_type", [k.value for k in KeyType], "Key type"),
        issuer_kind=pick(
            "issuer_kind", [k.value for k in IssuerKind if k.value != "imported"], "Issuer"
        ),
        organization=line("organization", "Organization", 64),
        organizational_unit=line("organizational_unit", "Organizational unit", 64),
        locality=line("locality", "Locality", 64),
        state=line("state", "State", 64),
        country=line("country", "Country", 2),
        requestor=line("requestor", "Requestor", 200),
        notes=errors.read(lambda: multiline(form, "notes", max_len=10000, label="Notes"), ""),
        validation=line("validation", "Validation level", 2),
        vendor=line("vendor", "Vendor", 100),
        product_id=line("product", "Product", 100),
        renew_days_before=days,
        monitoring={"on": True, "off": False}.get(monitoring),
    )


@routes.post("/definitions/{id:\\d+}/edit")
async def edit_submit(request: web.Request) -> web.Response:
    """Save the changes (the next request uses them); every wrong field is named, nothing changes."""
    ctx = ctx_of(request)
    def_id = _id(request)
    form = await form_of(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    errors = FormErrors()
    changes = _changes(form, errors)
    if not errors:
        try:
            d = await edit_definition(ctx.db, ctx.require_actor(), def_id, changes, ctx.clock)
        except ValidationError as err:
            errors.add(err)
        except ConflictError as err:
            errors.add(ValidationError(str(err), field="name"))
        else:
            raise redirect(request, f"/definitions/{d.id}", f"Definition {d.name!r} saved.")
    d = (await get_definition(ctx.db, def_id)).definition
    return _edit_page(request, d, values, errors=errors.by_field, status=422)


async def _act(request: web.Request, back: str, work: Awaitable[Any], done: str) -> web.Response:
    try:
        await work
    except CertmgrError as err:
        raise redirect(request, back, str(err), "bad") from err
    raise redirect(request, back, done)


@routes.post("/definitions/{id:\\d+}/{action:archive|restore|rollback|unhold}")
async def definition_action(request: web.Request) -> web.Response:
    """Archive, restore, roll back the current certificate, or cancel a held switch."""
    ctx = ctx_of(request)
    def_id, who, action = _id(request), ctx.require_actor(), request.match_info["action"]
    back = f"/definitions/{def_id}"
    if action == "archive":
        form = await form_of(request)
        reason = text(form, "reason", max_len=500, label="Reason")
        work = archive_definition(ctx.db, who, def_id, ctx.clock, reason=reason)
        return await _act(request, back, work, "Archived: no renewals, no monitoring.")
    if action == "restore":
        return await _act(
            request, back, restore_definition(ctx.db, who, def_id, ctx.clock), "Restored."
        )
    if action == "rollback":
        work = rollback_current(ctx.db, ctx.vault, who, def_id, ctx.clock)
        return await _act(request, back, work, "Rolled back to the previous certificate.")
    return await _act(
        request, back, release_hold(ctx.db, who, def_id, ctx.clock), "Held switch cancelled."
    )


@routes.post("/definitions/{id:\\d+}/delete")
async def definition_delete(request: web.Request) -> web.Response:
    """Delete a definition nothing refers to; otherwise say what does."""
    ctx = ctx_of(request)
    def_id = _id(request)
    try:
        name = await delete_definition(ctx.db, ctx.require_actor(), def_id, ctx.clock)
    except CertmgrError as err:
        raise redirect(request, f"/definitions/{def_id}", str(err), "bad") from err
    raise redirect(request, "/definitions", f"Definition {name!r} deleted.")


@routes.post("/definitions/{id:\\d+}/current")
async def definition_current(request: web.Request) -> web.Response:
    """Make a certificate current now, or hold it until a time."""
    ctx = ctx_of(request)
    def_id, who = _id(request), ctx.require_actor()
    back = f"/definitions/{def_id}"
    form = await form_of(request)
    try:
        cert_id = integer(form, "certificate_id", lo=1, label="Certificate")
        until = parse_moment(
            text(form, "hold_until", max_len=40, label="Switch at"),
            field="hold_until",
            label="Switch at",
        )
    except ValidationError as err:
        raise redirect(request, back, str(err), "bad") from err
    if until is None:
        work = switch_current_to(ctx.db, ctx.vault, who, def_id, cert_id, ctx.clock)
        return await _act(request, back, work, f"Certificate #{cert_id} is current.")
    work = hold_existing(ctx.db, who, def_id, cert_id, until, ctx.clock)
    return await _act(
        request,
        back,
        work,
        f"Certificate #{cert_id} becomes current at {until:%Y-%m-%d %H:%M} UTC.",
    )


@routes.get("/deployments/{id:\\d+}/edit")
async def deployment_edit_form(request: web.Request) -> web.Response:
    """The deployment's server, check and delivery, ready to change."""
    ctx = ctx_of(request)
    dep = (await deployment_detail(ctx.db, ctx.require_actor(), _id(request), checks=0)).dep
    values = {
        "server_name": dep.server_name,
        "check_host": dep.check_host,
        "check_port": str(dep.check_port),
        "sni": dep.sni,
        "delivery": dep.delivery,
        "admin_email": dep.admin_email,
        "name": dep.name,
        "notes": dep.notes,
    }
    return _dep_page(request, dep, values)


def _dep_page(
    request: web.Request,
    dep: Any,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "console/deployment_edit.html",
        title=f"Edit deployment {dep.id}",
        dep=dep,
        values=values,
        deliveries=list(DELIVERIES),
        errors=errors or {},
        status=status,
    )


@routes.post("/deployments/{id:\\d+}/edit")
async def deployment_edit_submit(request: web.Request) -> web.Response:
    """Save the deployment's changes; every wrong field is named and nothing changes."""
    ctx = ctx_of(request)
    dep_id = _id(request)
    form = await form_of(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    errors = FormErrors()

    def line(name: str, label: str, max_len: int, *, required: bool = False) -> str:
        return errors.read(
            lambda: text(form, name, required=required, max_len=max_len, label=label), ""
        )

    changes = DeploymentChanges(
        server_name=line("server_name", "Server", 255, required=True),
        check_host=line("check_host", "Check host", 255),
        check_port=errors.read(
            lambda: integer(form, "check_port", lo=1, hi=65535, label="Check port"), 443
        ),
        sni=line("sni", "SNI", 255),
        delivery=errors.read(
            lambda: choice(form, "delivery", list(DELIVERIES), label="Delivery"), ""
        ),
        admin_email=line("admin_email", "Administrator e-mail", 1000),
        name=line("name", "Name", 200),
        notes=errors.read(lambda: multiline(form, "notes", max_len=10000, label="Notes"), ""),
    )
    if not errors:
        try:
            await edit_deployment(ctx.db, ctx.require_actor(), dep_id, changes, ctx.clock)
        except ValidationError as err:
            errors.add(err)
        except CertmgrError as err:
            errors.add(ValidationError(str(err), field="server_name"))
        else:
            raise redirect(request, f"/deployments/{dep_id}", "Deployment saved.")
    dep = (await deployment_detail(ctx.db, ctx.require_actor(), dep_id, checks=0)).dep
    return _dep_page(request, dep, values, errors=errors.by_field, status=422)


@routes.post("/deployments/{id:\\d+}/{action:monitoring-on|monitoring-off|retire}")
async def deployment_action(request: web.Request) -> web.Response:
    """Switch monitoring on or off, or retire the deployment (the server is gone)."""
    ctx = ctx_of(request)
    dep_id, who, action = _id(request), ctx.require_actor(), request.match_info["action"]
    back = f"/deployments/{dep_id}"
    if action == "retire":
        form = await form_of(request)
        reason = text(form, "reason", max_len=500, label="Reason")
        work = retire_deployment(ctx.db, who, dep_id, ctx.clock, reason=reason)
        return await _act(request, back, work, "Deployment retired.")
    on = action == "monitoring-on"
    work = set_deployment_monitoring(ctx.db, who, dep_id, on, ctx.clock)
    return await _act(request, back, work, f"Monitoring switched {'on' if on else 'off'}.")
