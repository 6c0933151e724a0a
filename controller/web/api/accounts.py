"""API: the product catalogue, ACME accounts and vendor accounts."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller.services.acquisition.acme_accounts import (
    NewAcmeAccount,
    add_acme_account,
    list_accounts,
)
from certmgr.controller.services.acquisition.catalogue import catalogue, products_for
from certmgr.controller.services.acquisition.vendor_accounts import (
    VendorAccountChanges,
    VendorAccountSpec,
    add_vendor_account,
    delete_vendor_account,
    edit_vendor_account,
    list_vendor_accounts,
)
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    bool_field,
    changed_s_field,
    json_body,
    list_field,
    ok,
    only_known_fields,
    path_id,
    s_field,
)
from certmgr.shared.errors import ValidationError
from certmgr.shared.secret import Secret

api = ApiRoutes("accounts")


@api.op(
    "GET",
    "/products",
    "The product catalogue (with ?definition=ID: the products that fit it)",
    response=sc.array({"type": "object"}),
    params=({"name": "definition", "in": "query", "schema": {"type": "string"}},),
)
async def products(request: web.Request) -> web.Response:
    """Catalogue and selector."""
    ctx, _ = actor(request)
    ref = request.query.get("definition")
    if not ref:
        return ok([p.to_json() for p in catalogue()])
    return ok([p.to_json() for p in await products_for(ctx.db, ref[:200])])


@api.op("GET", "/acme/accounts", "ACME accounts", response=sc.array({"type": "object"}))
async def acme_accounts(request: web.Request) -> web.Response:
    """List."""
    ctx, _ = actor(request)
    return ok(
        [
            {
                "id": r.id,
                "name": r.name,
                "directory": r.directory_url,
                "account_url": r.account_url,
                "challenge": r.challenge,
                "eab": bool(r.eab_kid),
            }
            for r in await list_accounts(ctx.db)
        ]
    )


@api.op(
    "POST",
    "/acme/accounts",
    "Register an ACME account (Admin)",
    request=sc.obj(
        {
            "name": sc.string(max_len=100),
            "directory": sc.string(max_len=500),
            "email": sc.string(max_len=254),
            "eab_kid": sc.string(max_len=200),
            "eab_hmac": sc.string(max_len=500),
            "ca_bundle_pem": sc.string(max_len=200000),
        },
        ["name", "directory"],
    ),
    status=201,
    admin=True,
    extra_responses=(409, 502),
)
async def acme_add(request: web.Request) -> web.Response:
    """Register."""
    ctx, who = actor(request)
    body = await json_body(request)
    hmac_key = s_field(body, "eab_hmac", max_len=500)
    bundle = body.get("ca_bundle_pem")
    if bundle is not None and not isinstance(bundle, str):
        raise ValidationError("ca_bundle_pem must be text", field="ca_bundle_pem")
    row = await add_acme_account(
        ctx.db,
        ctx.vault,
        who,
        NewAcmeAccount(
            name=s_field(body, "name", required=True, max_len=100),
            directory_url=s_field(body, "directory", required=True, max_len=500),
            contact_email=s_field(body, "email", max_len=254),
            eab_kid=s_field(body, "eab_kid", max_len=200),
            eab_hmac=Secret(hmac_key) if hmac_key else None,
            ca_bundle_pem=bundle.encode() if bundle else None,
        ),
        ctx.clock,
    )
    return ok({"id": row.id, "name": row.name, "account_url": row.account_url}, status=201)


@api.op(
    "GET",
    "/vendor/accounts",
    "Vendor accounts (passwords never returned)",
    response=sc.array({"type": "object"}),
)
async def vendor_accounts(request: web.Request) -> web.Response:
    """List."""
    ctx, _ = actor(request)
    return ok(
        [
            {
                "id": r.id,
                "name": r.name,
                "vendors": r.vendors,
                "login": r.login_name,
                "email": r.registered_email,
                "password_stored": r.sealed_password is not None,
            }
            for r in await list_vendor_accounts(ctx.db)
        ]
    )


@api.op(
    "POST",
    "/vendor/accounts",
    "Store a vendor account",
    request=sc.obj(
        {
            "name": sc.string(max_len=100),
            "vendors": sc.array(sc.string(max_len=100), max_items=20),
            "login": sc.string(max_len=200),
            "password": sc.string(max_len=1024),
            "email": sc.string(max_len=254),
            "notes": sc.string(max_len=10000),
        },
        ["name", "vendors"],
    ),
    status=201,
    extra_responses=(409,),
)
async def vendor_add(request: web.Request) -> web.Response:
    """Store."""
    ctx, who = actor(request)
    body = await json_body(request)
    pw = s_field(body, "password", max_len=1024)
    row = await add_vendor_account(
        ctx.db,
        ctx.vault,
        who,
        VendorAccountSpec(
            s_field(body, "name", required=True, max_len=100),
            tuple(list_field(body, "vendors", max_items=20, max_len=100)),
            s_field(body, "login", max_len=200),
            Secret(pw) if pw else None,
            s_field(body, "email", max_len=254),
            s_field(body, "notes", max_len=10000),
        ),
        ctx.clock,
    )
    return ok({"id": row.id, "name": row.name}, status=201)


VENDOR_EDIT = sc.obj(
    {
        "name": sc.string(max_len=100),
        "vendors": sc.array(sc.string(max_len=100), max_items=20),
        "login": sc.string(max_len=200),
        "password": sc.string(max_len=1024),
        "clear_password": sc.boolean(),
        "email": sc.string(max_len=254),
        "notes": sc.string(max_len=10000),
    },
    extra=False,
)


@api.op(
    "PATCH",
    "/vendor/accounts/{id}",
    "Change a vendor account (a new password is sealed, never returned)",
    request=VENDOR_EDIT,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def vendor_edit(request: web.Request) -> web.Response:
    """Change the given fields."""
    ctx, who = actor(request)
    body = await json_body(request)
    only_known_fields(body, VENDOR_EDIT)
    pw = changed_s_field(body, "password", max_len=1024)
    row = await edit_vendor_account(
        ctx.db,
        ctx.vault,
        who,
        path_id(request),
        VendorAccountChanges(
            name=changed_s_field(body, "name", max_len=100),
            vendors=tuple(list_field(body, "vendors", max_items=20, max_len=100))
            if "vendors" in body
            else None,
            login_name=changed_s_field(body, "login", max_len=200),
            password=Secret(pw) if pw else None,
            clear_password=bool_field(body, "clear_password"),
            registered_email=changed_s_field(body, "email", max_len=254),
            notes=changed_s_field(body, "notes", max_len=10000),
        ),
        ctx.clock,
    )
    return ok(
        {
            "id": row.id,
            "name": row.name,
            "vendors": row.vendors,
            "login": row.login_name,
            "email": row.registered_email,
            "password_stored": row.sealed_password is not None,
        }
    )


@api.op(
    "DELETE",
    "/vendor/accounts/{id}",
    "Delete a vendor account no definition or request names (409 says what does)",
    params=(sc.ID,),
    status=204,
    extra_responses=(409,),
)
async def vendor_delete(request: web.Request) -> web.Response:
    """Delete."""
    ctx, who = actor(request)
    await delete_vendor_account(ctx.db, who, path_id(request), ctx.clock)
    return web.Response(status=204)
