"""ACME accounts: list, register (admin), delete (admin)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from certmgr.controller.services.acquisition.acme_accounts import (
    NewAcmeAccount,
    add_acme_account,
    check_account_name,
    delete_acme_account,
    list_accounts,
)
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.errors import status_for
from certmgr.controller.web.forms import FormErrors, choice, form_of, multiline, text
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError, ConflictError, ValidationError
from certmgr.shared.secret import Secret

routes = web.RouteTableDef()
CHALLENGES = ("http-01", "dns-01")


async def _page(
    request: web.Request,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    ctx = ctx_of(request)
    return render(
        request,
        "console/acme_accounts.html",
        title="ACME accounts",
        accounts=await list_accounts(ctx.db),
        values=values or {},
        errors=errors or {},
        challenges=CHALLENGES,
        status=status,
    )


@routes.get("/acme-accounts")
async def accounts_page(request: web.Request) -> web.Response:
    """The ACME accounts and, for admins, the form to register one."""
    return await _page(request)


def _read(form: Mapping[str, Any], errors: FormErrors) -> NewAcmeAccount:
    def field(name: str, label: str, max_len: int, *, required: bool = False) -> str:
        return errors.read(
            lambda: text(form, name, required=required, max_len=max_len, label=label), ""
        )

    hmac = field("eab_hmac", "HMAC key", 500)
    dns_secret = field("dns_key_secret", "TSIG secret", 500)
    bundle = errors.read(
        lambda: multiline(form, "ca_bundle_pem", max_len=200_000, label="CA certificate"), ""
    )
    return NewAcmeAccount(
        name=field("name", "Name", 100, required=True),
        directory_url=field("directory", "Directory URL", 500, required=True),
        contact_email=field("email", "Contact e-mail", 254),
        eab_kid=field("eab_kid", "Key id", 200),
        eab_hmac=Secret(hmac) if hmac else None,
        ca_bundle_pem=bundle.encode() if bundle else None,
        challenge=errors.read(
            lambda: choice(form, "challenge", CHALLENGES, default="http-01", label="Challenge"),
            "http-01",
        ),
        dns_server=field("dns_server", "DNS server", 255),
        dns_zone=field("dns_zone", "DNS zone", 255),
        dns_key_name=field("dns_key_name", "TSIG key name", 255),
        dns_key_secret=Secret(dns_secret) if dns_secret else None,
    )


@routes.post("/acme-accounts")
async def add(request: web.Request) -> web.Response:
    """Register an account at the CA's directory (admin); errors beside their fields."""
    ctx = ctx_of(request)
    form = await form_of(request)
    secret_fields = {"csrf", "eab_hmac", "dns_key_secret"}
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in secret_fields}
    errors = FormErrors()
    spec = _read(form, errors)
    errors.read(lambda: check_account_name(spec.name), None)
    if not errors:
        try:
            row = await add_acme_account(ctx.db, ctx.vault, ctx.require_actor(), spec, ctx.clock)
        except ValidationError as err:
            errors.add(err)
        except ConflictError:
            errors.add(
                ValidationError(
                    f"an ACME account named {spec.name!r} exists already: choose another name",
                    field="name",
                )
            )
        except CertmgrError as err:
            errors.add(ValidationError(str(err), field="directory"))
            return await _page(
                request, values=values, errors=errors.by_field, status=status_for(err)
            )
        else:
            raise redirect(request, "/acme-accounts", f"ACME account {row.name!r} registered.")
    return await _page(request, values=values, errors=errors.by_field, status=422)


@routes.post("/acme-accounts/{id:\\d{1,12}}/delete")
async def remove(request: web.Request) -> web.Response:
    """Forget an unused account (admin)."""
    ctx = ctx_of(request)
    try:
        name = await delete_acme_account(
            ctx.db, ctx.require_actor(), int(request.match_info["id"]), ctx.clock
        )
    except ConflictError as err:
        raise redirect(request, "/acme-accounts", f"Not deleted: {err}.", "bad") from err
    raise redirect(request, "/acme-accounts", f"ACME account {name!r} deleted.")
