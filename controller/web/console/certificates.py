"""Certificates (list, detail, downloads) and Private Keys (list, audited encrypted export)."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller.services.certificates.browse import (
    CERT_SORTS,
    certificate_download,
    certificate_view,
    certificates_page,
)
from certmgr.controller.services.certificates.key_export import FORMATS, export_key
from certmgr.controller.services.certificates.keys import KEY_SORTS, keys_page
from certmgr.controller.web.console.definitions import attachment
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import ListQuery, choice, form_of
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError, NotFoundError, ValidationError

routes = web.RouteTableDef()


@routes.get("/certificates")
async def certificates(request: web.Request) -> web.Response:
    """The certificate list."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request,
        sortable=list(CERT_SORTS),
        default_sort="expires",
        filters=("kind", "source", "validity"),
    )
    page = await certificates_page(
        ctx.db,
        kind=q.filter("kind") or "leaf",
        source=q.filter("source"),
        validity=q.filter("validity"),
        now=ctx.clock.now(),
        text=q.q,
        sort=q.sort,
        desc=q.desc,
        page=q.page,
        per_page=q.per_page,
    )
    return render(
        request,
        "console/certificates.html",
        title="Certificates",
        page=page,
        q=q,
        now=ctx.clock.now(),
    )


def _cert_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise NotFoundError("no such certificate") from None


@routes.get("/certificates/{id:\\d+}")
async def certificate(request: web.Request) -> web.Response:
    """Subject, SANs, issuer, chain, validity, fingerprints, key link, downloads."""
    ctx = ctx_of(request)
    view = await certificate_view(ctx.db, _cert_id(request), with_definition=True)
    row = view.certificate
    return render(
        request,
        "console/certificate.html",
        title=row.common_name or row.subject,
        c=row,
        chain=view.chain,
        d=view.definition,
        now=ctx.clock.now(),
    )


@routes.get("/certificates/{id:\\d+}/download/{what}.{fmt}")
async def download(request: web.Request) -> web.Response:
    """Certificate, chain or full chain as PEM or DER."""
    out = await certificate_download(
        ctx_of(request).db,
        _cert_id(request),
        request.match_info["what"],
        request.match_info["fmt"],
    )
    return attachment(out.data, out.filename, out.content_type)


@routes.get("/keys")
async def keys(request: web.Request) -> web.Response:
    """Private keys (never their material): algorithm, size, fingerprint, origin, used by."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(request, sortable=list(KEY_SORTS), default_sort="created")
    found = await keys_page(ctx.db, sort=q.sort, desc=q.desc, page=q.page, per_page=q.per_page)
    return render(
        request,
        "console/keys.html",
        title="Private Keys",
        page=found.page,
        q=q,
        used=found.used,
        formats=FORMATS,
    )


@routes.post("/keys/{id:\\d+}/export")
async def export(request: web.Request) -> web.Response:
    """Download a key encrypted with the passphrase typed in (Admin only, audited)."""
    ctx = ctx_of(request)
    form = await form_of(request)
    passphrase = form.get("passphrase", "")
    try:
        fmt = choice(form, "format", FORMATS, label="Format")
        if not isinstance(passphrase, str):
            raise ValidationError("passphrase must be text", field="passphrase")
        if passphrase != form.get("passphrase_again"):
            raise ValidationError("the two passphrases differ", field="passphrase_again")
        out = await export_key(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            int(request.match_info["id"]),
            fmt,
            passphrase,
            ctx.clock,
        )
    except CertmgrError as err:
        raise redirect(request, "/keys", f"Export refused: {err}", "bad") from err
    return attachment(out.data, out.filename, out.content_type)
