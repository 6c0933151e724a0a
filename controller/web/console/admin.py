"""Private CA screen, Sent Emails, Audit Log, Backups."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from certmgr.controller.domain.values import parse_day
from certmgr.controller.issuers.private_ca import REASONS
from certmgr.controller.services.acquisition.ca_overview import ca_overview
from certmgr.controller.services.acquisition.private_ca import generate_crl, revoke
from certmgr.controller.services.admin.audit_log import AuditFilter, audit_log_page
from certmgr.controller.services.admin.backup import human_size, list_runs
from certmgr.controller.services.admin.backup_config import load_backup_config
from certmgr.controller.services.deployment.oneclick import (
    current_ca_installer,
    make_ca_installer,
)
from certmgr.controller.services.notification.sent_emails import sent_email, sent_emails_page
from certmgr.controller.web.context import ca_context, ctx_of
from certmgr.controller.web.forms import ListQuery, choice, form_of, text
from certmgr.controller.web.render import redirect, render
from certmgr.controller.web.static import stream_file
from certmgr.shared.errors import CertmgrError

routes = web.RouteTableDef()


@routes.get("/ca")
async def ca_page(request: web.Request) -> web.Response:
    """CA certificate and chain, CRL, issued and revoked certificates."""
    ctx = ctx_of(request)
    view = await ca_overview(ctx.db)
    return render(
        request,
        "console/ca.html",
        title="Private CA",
        infos=view.infos,
        active=view.active,
        chain=view.chain,
        issued=view.issued,
        revoked=view.revoked,
        revoked_serials=view.revoked_serials,
        reasons=sorted(REASONS),
        crl_url=ctx.settings.effective_crl_url,
        installer=await current_ca_installer(ctx.db, ctx.settings.home) is not None,
    )


@routes.post("/ca/revoke")
async def ca_revoke(request: web.Request) -> web.Response:
    """Revoke a certificate issued by the CA, then publish a new CRL."""
    ctx = ctx_of(request)
    form = await form_of(request)
    try:
        ref = text(form, "certificate", required=True, max_len=100, label="Certificate")
        reason = choice(form, "reason", sorted(REASONS), default="unspecified", label="Reason")
        rev = await revoke(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            ca_context(request),
            ref,
            reason=reason,
            clock=ctx.clock,
        )
    except CertmgrError as err:
        raise redirect(request, "/ca", f"Not revoked: {err}", "bad") from err
    raise redirect(request, "/ca", f"Revoked serial {rev.serial_hex}; a new CRL was published.")


@routes.post("/ca/installer")
async def ca_installer(request: web.Request) -> web.Response:
    """Stamp the installer runtime with the CA certificate (adds it to a host's trust store)."""
    ctx = ctx_of(request)
    try:
        await make_ca_installer(ctx.db, ctx.require_actor(), ctx.settings.home, ctx.clock)
    except CertmgrError as err:
        raise redirect(request, "/ca", f"No installer: {err}", "bad") from err
    raise redirect(request, "/ca", "CA certificate installer created.")


@routes.get("/ca/installer")
async def ca_installer_download(request: web.Request) -> web.StreamResponse:
    """Download the CA certificate installer."""
    ctx = ctx_of(request)
    path = await current_ca_installer(ctx.db, ctx.settings.home)
    if path is None:
        raise web.HTTPNotFound(
            text="create the installer first (the CA certificate may have changed)"
        )
    return await stream_file(
        request,
        path,
        {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": 'attachment; filename="certmgr-ca-installer"',
        },
    )


@routes.post("/ca/crl")
async def ca_crl(request: web.Request) -> web.Response:
    """Publish a new CRL now."""
    ctx = ctx_of(request)
    crl = await generate_crl(
        ctx.db, ctx.vault, ctx.require_actor(), ca_context(request), clock=ctx.clock
    )
    raise redirect(request, "/ca", f"CRL published ({len(list(crl))} revoked).")


@routes.get("/emails")
async def emails(request: web.Request) -> web.Response:
    """Every e-mail certmgr sent or tried to send."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request,
        sortable=["at", "to", "subject", "result"],
        default_sort="at",
        filters=("result", "kind"),
    )
    page = await sent_emails_page(
        ctx.db,
        result=q.filter("result"),
        kind=q.filter("kind"),
        text=q.q,
        sort=q.sort,
        desc=q.desc if "dir" in request.query else True,
        page=q.page,
        per_page=q.per_page,
    )
    return render(request, "console/emails.html", title="Sent Emails", page=page, q=q)


@routes.get("/emails/{id:\\d+}")
async def email(request: web.Request) -> web.Response:
    """One sent e-mail with its body."""
    row = await sent_email(ctx_of(request).db, int(request.match_info["id"]))
    return render(request, "console/email.html", title=row.subject, m=row)


@routes.get("/audit")
async def audit_log(request: web.Request) -> web.Response:
    """Who did what, when, from where; filterable."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request,
        sortable=["at", "actor", "action"],
        default_sort="at",
        filters=("actor", "action", "entity_type", "source", "since", "until"),
    )
    try:
        since = parse_day(q.filter("since"), field="since")
        until = parse_day(q.filter("until"), field="until")
    except CertmgrError as err:
        raise redirect(request, "/audit", str(err), "bad") from None
    view = await audit_log_page(
        ctx.db,
        AuditFilter(
            actor=q.filter("actor"),
            action=q.filter("action"),
            entity_type=q.filter("entity_type"),
            source=q.filter("source"),
            since=since,
            until=None if until is None else until + dt.timedelta(days=1),
            text=q.q,
        ),
        now=ctx.clock.now(),
        sort=q.sort,
        desc=q.desc if "dir" in request.query else True,
        page=q.page,
        per_page=q.per_page,
    )
    return render(
        request,
        "console/audit.html",
        title="Audit Log",
        page=view.page,
        q=q,
        actions=view.actions,
        refusals=view.refusals,
    )


@routes.get("/backups")
async def backups(request: web.Request) -> web.Response:
    """Backups taken (manual and scheduled) with size and result, and the schedule (admins)."""
    ctx = ctx_of(request)
    cfg = load_backup_config(ctx.settings)
    return render(
        request,
        "console/backups.html",
        title="Backups",
        runs=await list_runs(ctx.db),
        cfg=cfg,
        folder=cfg.folder or ctx.settings.backups_dir,
        size=human_size,
    )
