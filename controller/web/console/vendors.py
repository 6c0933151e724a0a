"""Vendor accounts in the console: list, add, edit, delete (passwords are sealed and never shown here)."""

from __future__ import annotations

from collections.abc import Mapping
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
from certmgr.controller.services.admin.settings import check_email
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import FormErrors, checkbox, form_of, lines, multiline, text
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError, ConflictError, ValidationError
from certmgr.shared.secret import Secret

routes = web.RouteTableDef()


async def _list_page(
    request: web.Request,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "console/vendor_accounts.html",
        title="Vendor accounts",
        accounts=await list_vendor_accounts(ctx_of(request).db),
        values=values or {},
        errors=errors or {},
        status=status,
    )


@routes.get("/vendor-accounts")
async def accounts(request: web.Request) -> web.Response:
    """Every vendor account, and a form for a new one."""
    return await _list_page(request)


def _values(form: Any) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "password")}


def _read(form: Mapping[str, Any], errors: FormErrors) -> VendorAccountSpec:
    """The account as typed; every wrong field noted in ``errors`` (the password is never kept)."""

    def field(name: str, label: str, max_len: int, *, required: bool = False) -> str:
        return errors.read(
            lambda: text(form, name, required=required, max_len=max_len, label=label), ""
        )

    name = field("name", "Name", 100, required=True)
    vendors = tuple(lines(field("vendors", "Vendors", 2000)))
    if not vendors and "vendors" not in errors.by_field:
        errors.add(ValidationError("name at least one vendor this account is for", field="vendors"))
    login_name = field("login_name", "Login", 200)
    pw = field("password", "Password", 1024)
    email = field("registered_email", "E-mail", 254)
    return VendorAccountSpec(
        name=name,
        vendors=vendors,
        login_name=login_name,
        password=Secret(pw) if pw else None,
        registered_email=errors.read(lambda: check_email(email, "registered_email"), email),
        notes=errors.read(lambda: multiline(form, "notes", max_len=10000, label="Notes"), ""),
    )


def _taken(name: str) -> ValidationError:
    return ValidationError(
        f"a vendor account named {name!r} exists already: choose another name", field="name"
    )


@routes.post("/vendor-accounts")
async def add(request: web.Request) -> web.Response:
    """Store a new vendor account; every wrong field is named beside it."""
    ctx = ctx_of(request)
    form = await form_of(request)
    errors = FormErrors()
    spec = _read(form, errors)
    if not errors:
        try:
            row = await add_vendor_account(ctx.db, ctx.vault, ctx.require_actor(), spec, ctx.clock)
        except ConflictError:
            errors.add(_taken(spec.name))
        except ValidationError as err:
            errors.add(err)
        else:
            raise redirect(request, "/vendor-accounts", f"Vendor account {row.name!r} stored.")
    return await _list_page(request, values=_values(form), errors=errors.by_field, status=422)


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _edit_page(
    request: web.Request,
    row: Any,
    values: Mapping[str, str],
    *,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "console/vendor_account.html",
        title=f"Vendor account {row.name}",
        a=row,
        values=values,
        errors=errors or {},
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
    """Save the changes (an empty password field keeps the stored one); every wrong field named."""
    ctx = ctx_of(request)
    account_id = _id(request)
    form = await form_of(request)
    errors = FormErrors()
    spec = _read(form, errors)
    if not errors:
        try:
            row = await edit_vendor_account(
                ctx.db,
                ctx.vault,
                ctx.require_actor(),
                account_id,
                VendorAccountChanges(
                    name=spec.name,
                    vendors=spec.vendors,
                    login_name=spec.login_name,
                    password=spec.password,
                    clear_password=checkbox(form, "clear_password"),
                    registered_email=spec.registered_email,
                    notes=spec.notes,
                ),
                ctx.clock,
            )
        except ConflictError:
            errors.add(_taken(spec.name))
        except ValidationError as err:
            errors.add(err)
        else:
            raise redirect(request, "/vendor-accounts", f"Vendor account {row.name!r} saved.")
    row = await find_vendor_account(ctx.db, account_id)
    return await _edit_page(request, row, _values(form), errors=errors.by_field, status=422)


@routes.post("/vendor-accounts/{id:\\d+}/delete")
async def delete(request: web.Request) -> web.Response:
    """Delete an account nothing names; otherwise say what does."""
    ctx = ctx_of(request)
    try:
        name = await delete_vendor_account(ctx.db, ctx.require_actor(), _id(request), ctx.clock)
    except CertmgrError as err:
        raise redirect(request, "/vendor-accounts", str(err), "bad") from err
    raise redirect(request, "/vendor-accounts", f"Vendor account {name!r} deleted.")
