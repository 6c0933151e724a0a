"""Private CA screen, Sent Emails, Audit Log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    CertificateAuthority,
    Revocation,
    SentEmail,
)
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains
from certmgr.controller.domain.values import parse_day
from certmgr.controller.issuers.private_ca import REASONS
from certmgr.controller.services.acquisition.private_ca import (
    CaContext,
    ca_info,
    generate_crl,
    revoke,
)
from certmgr.controller.services.admin.refusals import refusal_summary
from certmgr.controller.services.certificates.overview import Page
from certmgr.controller.services.certificates.store import chain_of
from certmgr.controller.services.deployment.oneclick import current_ca_installer
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import ListQuery, choice, form_of, text
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError

routes = web.RouteTableDef()


def ca_context(request: web.Request) -> CaContext:
    """Where the CA writes its files."""
    s = ctx_of(request).settings
    return CaContext(s.ca_dir, s.effective_crl_url)


@routes.get("/ca")
async def ca_page(request: web.Request) -> web.Response:
    """CA certificate and chain, CRL, issued and revoked certificates."""
    ctx = ctx_of(request)
    infos = await ca_info(ctx.db)
    active = next((i for i in infos if i.status == "active"), None)
    issued: list[Certificate] = []
    revoked: list[Revocation] = []
    chain: list[Certificate] = []
    if active is not None:
        async with ctx.db.reader() as s:
            ca = await s.get(CertificateAuthority, active.id)
            assert ca is not None  # noqa: S101 - listed just now
            assert ca.certificate_id is not None  # noqa: S101 - active implies a certificate
            ca_cert = await s.get(Certificate, ca.certificate_id)
            assert ca_cert is not None  # noqa: S101
            chain = [ca_cert, *await chain_of(s, ca_cert.id)]
            issued = list(
                (
                    await s.execute(
                        select(Certificate)
                        .where(Certificate.issuer == ca_cert.subject, Certificate.id != ca_cert.id)
                        .order_by(Certificate.id.desc())
                        .limit(200)
                    )
                )
                .scalars()
                .all()
            )
            revoked = list(
                (
                    await s.execute(
                        select(Revocation)
                        .where(Revocation.ca_id == ca.id)
                        .order_by(Revocation.revoked_at.desc())
                    )
                )
                .scalars()
                .all()
            )
    revoked_serials = {r.serial_hex for r in revoked}
    return render(
        request,
        "console/ca.html",
        title="Private CA",
        infos=infos,
        active=active,
        chain=chain,
        issued=issued,
        revoked=revoked,
        revoked_serials=revoked_serials,
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
    from certmgr.controller.services.deployment.oneclick import make_ca_installer

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
    return web.FileResponse(
        path,
        headers={
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
    stmt = select(SentEmail)
    if q.filter("result"):
        stmt = stmt.where(SentEmail.result == q.filter("result"))
    if q.filter("kind"):
        stmt = stmt.where(SentEmail.kind == q.filter("kind"))
    if q.q:
        like = contains(q.q)
        stmt = stmt.where(
            or_(
                SentEmail.to.ilike(like, escape=LIKE_ESCAPE),
                SentEmail.subject.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    col: InstrumentedAttribute[Any] = {
        "at": SentEmail.at,
        "to": SentEmail.to,
        "subject": SentEmail.subject,
        "result": SentEmail.result,
    }[q.sort]
    desc = q.desc if "dir" in request.query else True
    async with ctx.db.reader() as s:
        total = int(
            (await s.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        )
        rows = (
            (
                await s.execute(
                    stmt.order_by(col.desc() if desc else col.asc(), SentEmail.id.desc())
                    .limit(q.per_page)
                    .offset((q.page - 1) * q.per_page)
                )
            )
            .scalars()
            .all()
        )
    return render(
        request,
        "console/emails.html",
        title="Sent Emails",
        page=Page(list(rows), total, q.page, q.per_page),
        q=q,
    )


@routes.get("/emails/{id:\\d+}")
async def email(request: web.Request) -> web.Response:
    """One sent e-mail with its body."""
    ctx = ctx_of(request)
    async with ctx.db.reader() as s:
        row = await s.get(SentEmail, int(request.match_info["id"]))
    if row is None:
        raise web.HTTPNotFound(text="no such e-mail")
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
    stmt = select(AuditEvent)
    for name in ("since", "until"):
        try:
            day = parse_day(q.filter(name), field=name)
        except CertmgrError as err:
            raise redirect(request, "/audit", str(err), "bad") from None
        if day is not None:
            stmt = (
                stmt.where(AuditEvent.at >= day)
                if name == "since"
                else stmt.where(AuditEvent.at < day + dt.timedelta(days=1))
            )
    for name, fcol in (
        ("actor", AuditEvent.actor),
        ("action", AuditEvent.action),
        ("entity_type", AuditEvent.entity_type),
        ("source", AuditEvent.source),
    ):
        if q.filter(name):
            stmt = stmt.where(fcol == q.filter(name))
    if q.q:
        like = contains(q.q)
        stmt = stmt.where(
            or_(
                AuditEvent.action.ilike(like, escape=LIKE_ESCAPE),
                AuditEvent.actor.ilike(like, escape=LIKE_ESCAPE),
                AuditEvent.entity_id.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    col: InstrumentedAttribute[Any] = {
        "at": AuditEvent.at,
        "actor": AuditEvent.actor,
        "action": AuditEvent.action,
    }[q.sort]
    desc = q.desc if "dir" in request.query else True
    async with ctx.db.reader() as s:
        total = int(
            (await s.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        )
        rows = (
            (
                await s.execute(
                    stmt.order_by(col.desc() if desc else col.asc(), AuditEvent.id.desc())
                    .limit(q.per_page)
                    .offset((q.page - 1) * q.per_page)
                )
            )
            .scalars()
            .all()
        )
        actions = sorted((await s.execute(select(AuditEvent.action).distinct())).scalars().all())
    return render(
        request,
        "console/audit.html",
        title="Audit Log",
        page=Page(list(rows), total, q.page, q.per_page),
        q=q,
        actions=actions,
        refusals=await refusal_summary(ctx.db, ctx.clock.now() - dt.timedelta(days=1)),
    )
