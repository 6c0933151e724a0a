"""Certificates (list, detail, downloads) and Private Keys (list, audited encrypted export)."""

from __future__ import annotations

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, or_, select

from certmgr.controller.db.models import Certificate, CertificateDefinition, PrivateKeyRecord
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains
from certmgr.controller.services.certificates.key_export import FORMATS, export_key
from certmgr.controller.services.certificates.overview import Page
from certmgr.controller.services.certificates.store import chain_of
from certmgr.controller.web.console.definitions import attachment
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import ListQuery, choice, form_of
from certmgr.controller.web.render import render
from certmgr.shared.errors import CertmgrError, NotFoundError, ValidationError

routes = web.RouteTableDef()

CERT_SORTS = {
    "expires": Certificate.not_after,
    "subject": Certificate.common_name,
    "issuer": Certificate.issuer,
    "id": Certificate.id,
}


async def certificates_page(request: web.Request) -> tuple[Page[Certificate], ListQuery]:
    """Certificates matching the query string."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request, sortable=list(CERT_SORTS), default_sort="expires", filters=("kind", "source")
    )
    stmt = select(Certificate)
    kind = q.filter("kind") or "leaf"
    if kind == "leaf":
        stmt = stmt.where(Certificate.is_ca.is_(False))
    elif kind == "ca":
        stmt = stmt.where(Certificate.is_ca.is_(True))
    if q.filter("source"):
        stmt = stmt.where(Certificate.source == q.filter("source"))
    if q.q:
        like = contains(q.q)
        stmt = stmt.where(
            or_(
                Certificate.subject.ilike(like, escape=LIKE_ESCAPE),
                Certificate.issuer.ilike(like, escape=LIKE_ESCAPE),
                Certificate.sha256.ilike(like, escape=LIKE_ESCAPE),
                Certificate.serial_hex.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    col = CERT_SORTS[q.sort]
    async with ctx.db.reader() as s:
        total = int(
            (await s.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        )
        rows = (
            (
                await s.execute(
                    stmt.order_by(col.desc() if q.desc else col.asc(), Certificate.id)
                    .limit(q.per_page)
                    .offset((q.page - 1) * q.per_page)
                )
            )
            .scalars()
            .all()
        )
    return Page(list(rows), total, q.page, q.per_page), q


@routes.get("/certificates")
async def certificates(request: web.Request) -> web.Response:
    """The certificate list."""
    page, q = await certificates_page(request)
    return render(
        request,
        "console/certificates.html",
        title="Certificates",
        page=page,
        q=q,
        now=ctx_of(request).clock.now(),
    )


async def load_certificate(request: web.Request) -> tuple[Certificate, list[Certificate]]:
    """The certificate in the URL and its chain.

    Raises:
        NotFoundError: No such certificate.
    """
    ctx = ctx_of(request)
    try:
        cid = int(request.match_info["id"])
    except ValueError:
        raise NotFoundError("no such certificate") from None
    async with ctx.db.reader() as s:
        row = await s.get(Certificate, cid)
        if row is None:
            raise NotFoundError(f"no certificate {cid}")
        chain = await chain_of(s, row.id)
    return row, chain


@routes.get("/certificates/{id:\\d+}")
async def certificate(request: web.Request) -> web.Response:
    """Subject, SANs, issuer, chain, validity, fingerprints, key link, downloads."""
    row, chain = await load_certificate(request)
    ctx = ctx_of(request)
    async with ctx.db.reader() as s:
        d = await s.get(CertificateDefinition, row.definition_id) if row.definition_id else None
    return render(
        request,
        "console/certificate.html",
        title=row.common_name or row.subject,
        c=row,
        chain=chain,
        d=d,
        now=ctx.clock.now(),
    )


def certificate_file(
    row: Certificate, chain: list[Certificate], what: str, fmt: str
) -> tuple[bytes, str, str]:
    """Bytes, file name and content type of a download (``what``: cert, chain, fullchain; ``fmt``: pem, der).

    Raises:
        ValidationError: DER of several certificates, or an unknown choice.
    """
    base = (row.common_name or f"certificate-{row.id}").replace("*", "wildcard")
    if what == "cert":
        certs = [row]
    elif what == "chain":
        certs = [c for c in chain]
    elif what == "fullchain":
        certs = [row, *[c for c in chain if not c.self_signed]]
    else:
        raise ValidationError("choose cert, chain or fullchain", field="what")
    if fmt == "der":
        if len(certs) != 1:
            raise ValidationError(
                "DER holds one certificate; download the chain as PEM", field="format"
            )
        return certs[0].der, f"{base}.der", "application/pkix-cert"
    if fmt != "pem":
        raise ValidationError("format must be pem or der", field="format")
    if not certs:
        raise ValidationError("this certificate has no stored chain", field="what")
    pem = b"".join(x509.load_der_x509_certificate(c.der).public_bytes(Encoding.PEM) for c in certs)
    return pem, f"{base}{'' if what == 'cert' else '-' + what}.pem", "application/x-pem-file"


@routes.get("/certificates/{id:\\d+}/download/{what}.{fmt}")
async def download(request: web.Request) -> web.Response:
    """Certificate, chain or full chain as PEM or DER."""
    row, chain = await load_certificate(request)
    data, name, ctype = certificate_file(
        row, chain, request.match_info["what"], request.match_info["fmt"]
    )
    return attachment(data, name, ctype)


@routes.get("/keys")
async def keys(request: web.Request) -> web.Response:
    """Private keys (never their material): algorithm, size, fingerprint, origin, used by."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request, sortable=["created", "algorithm", "origin"], default_sort="created"
    )
    col = {
        "created": PrivateKeyRecord.created_at,
        "algorithm": PrivateKeyRecord.algorithm,
        "origin": PrivateKeyRecord.origin,
    }[q.sort]
    async with ctx.db.reader() as s:
        total = int((await s.execute(select(func.count(PrivateKeyRecord.id)))).scalar_one())
        rows = (
            (
                await s.execute(
                    select(PrivateKeyRecord)
                    .order_by(col.desc() if q.desc else col.asc(), PrivateKeyRecord.id)
                    .limit(q.per_page)
                    .offset((q.page - 1) * q.per_page)
                )
            )
            .scalars()
            .all()
        )
        ids = [r.id for r in rows]
        used: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
        if ids:
            for kid, cid, cn in (
                await s.execute(
                    select(
                        Certificate.private_key_id, Certificate.id, Certificate.common_name
                    ).where(Certificate.private_key_id.in_(ids))
                )
            ).all():
                if kid is not None:
                    used[kid].append((cid, cn))
    return render(
        request,
        "console/keys.html",
        title="Private Keys",
        page=Page(list(rows), total, q.page, q.per_page),
        q=q,
        used=used,
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
        from certmgr.controller.web.render import redirect

        raise redirect(request, "/keys", f"Export refused: {err}", "bad") from err
    return attachment(out.data, out.filename, out.content_type)
