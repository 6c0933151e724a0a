"""Vendor accounts in the console: list, add, edit, delete (passwords are sealed and never shown here)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certmgr.controller.services.acquisition.vendor_accounts import (
    VendorAccountChanges,
    VendorAccountSpec,
    add_vendor_account,
    delete_vendor_account,
    edit_vendor_account,
    find_vendor_account,
    list_vendor_accounts,
)
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import checkbox, form_of, lines, multiline, text
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError, ValidationError
from certmgr.shared.secret import Secret

routes = web.RouteTableDef()


async def _list_page(
    request: web.Request,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "console/vendor_accounts.html",
        title="Vendor accounts",
        accounts=await list_vendor_accounts(ctx_of(request).db),
        values=values or {},
        error=error,
        field=field,
        status=status,
    )


@routes.get("/vendor-accounts")
async def accounts(request: web.Request) -> web.Response:
    """Every vendor account, and a form for a new one."""
    return await _list_page(request)


def _values(form: Any) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "password")}


@routes.post("/vendor-accounts")
async def add(request: web.Request) -> web.Response:
    """Store a new vendor account."""
    ctx = ctx_of(request)
    form = await form_of(request)
    try:
        pw = text(form, "password", max_len=1024, label="Password")
        row = await add_vendor_account(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            VendorAccountSpec(
                name=text(form, "name", required=True, max_len=100, label="Name"),
                vendors=tuple(lines(text(form, "vendors", max_len=2000, label="Vendors"))),
                login_name=text(form, "login_name", max_len=200, label="Login"),
                password=Secret(pw) if pw else None,
                registered_email=text(form, "registered_email", max_len=254, label="E-mail"),
                notes=multiline(form, "notes", max_len=10000, label="Notes"),
            ),
            ctx.clock,
        )
    except CertmgrError as err:
        field = err.field if isinstance(err, ValidationError) else "name"
        return await _list_page(
            request, values=_values(form), error=str(err), field=field, status=422
        )
    raise redirect(request, "/vendor-accounts", f"Vendor account {row.name!r} stored.")


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _edit_page(
    request: web.Request,
    row: Any,
    values: dict[str, str],
    *,
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "console/vendor_account.html",
        title=f"Vendor account {row.name}",
        a=row,
        values=values,
        error=error,
        field=field,
        status=status,
    )


@routes.get("/vendor-accounts/{id:\\d+}")
async def edit_form(request: web.Request) -> web.Response:
    """One vendor account, ready to change."""
    row = await find_vendor_account(ctx_of(request).db, _id(request))
    values = {
        "name": row.name,
        "vendors": ", ".join(row.vendors),
        "login_name": row.login_name,
        "registered_email": row.registered_email,
        "notes": row.notes,
    }
    return await _edit_page(request, row, values)


@routes.post("/vendor-accounts/{id:\\d+}")
async def edit_submit(request: web.Request) -> web.Response:
    """Save the changes (an empty password field keeps the stored one)."""
    ctx = ctx_of(request)
    account_id = _id(request)
    form = await form_of(request)
    try:
        pw = text(form, "password", max_len=1024, label="Password")
        row = await edit_vendor_account(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            account_id,
            VendorAccountChanges(
                name=text(form, "name", required=True, max_len=100, label="Name"),
                vendors=tuple(lines(text(form, "vendors", max_len=2000, label="Vendors"))),
                login_name=text(form, "login_name", max_len=200, label="Login"),
                password=Secret(pw) if pw else None,
                clear_password=checkbox(form, "clear_password"),
                registered_email=text(form, "registered_email", max_len=254, label="E-mail"),
                notes=multiline(form, "notes", max_len=10000, label="Notes"),
            ),
            ctx.clock,
        )
    except CertmgrError as err:
        row = await find_vendor_account(ctx.db, account_id)
        field = err.field if isinstance(err, ValidationError) else "name"
        return await _edit_page(
            request, row, _values(form), error=str(err), field=field, status=422
        )
    raise redirect(request, "/vendor-accounts", f"Vendor account {row.name!r} saved.")


@routes.post("/vendor-accounts/{id:\\d+}/delete")
async def delete(request: web.Request) -> web.Response:
    """Delete an account nothing names; otherwise say what does."""
    ctx = ctx_of(request)
    try:
        name = await delete_vendor_account(ctx.db, ctx.require_actor(), _id(request), ctx.clock)
    except CertmgrError as err:
        raise redirect(request, "/vendor-accounts", str(err), "bad") from err
    raise redirect(request, "/vendor-accounts", f"Vendor account {name!r} deleted.")
