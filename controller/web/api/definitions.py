"""API: definitions, their documents, certificates, private keys."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller.services.acquisition.definition_detail import get_definition
from certmgr.controller.services.acquisition.definitions import (
    DefinitionSpec,
    create_definition,
    load_definition,
)
from certmgr.controller.services.certificates.browse import (
    certificate_download,
    certificate_view,
    list_certificates,
)
from certmgr.controller.services.certificates.documents import (
    MAX_DOCUMENT,
    add_document,
    delete_document,
    list_documents,
    read_document,
)
from certmgr.controller.services.certificates.key_export import FORMATS, export_key
from certmgr.controller.services.certificates.keys import list_keys
from certmgr.controller.services.certificates.overview import EXPIRY_FILTERS, definitions_page
from certmgr.controller.views import certificate_json, chain_summary_json, definition_json
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    b64_field,
    decode_cursor,
    encode_cursor,
    int_param,
    json_body,
    list_field,
    ok,
    path_id,
    s_field,
)
from certmgr.controller.web.console.definitions import attachment
from certmgr.controller.web.context import ctx_of
from certmgr.shared.errors import ValidationError

api = ApiRoutes("definitions")

Q = {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}}
ISSUER = {
    "name": "issuer",
    "in": "query",
    "schema": {"type": "string", "enum": ["private-ca", "acme", "vendor"]},
}
EXPIRY = {
    "name": "expiry",
    "in": "query",
    "schema": {"type": "string", "enum": list(EXPIRY_FILTERS)},
}
DOC = {"name": "doc", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}


@api.op(
    "GET",
    "/definitions",
    "List definitions with status",
    response=sc.page_of(sc.DEFINITION_ROW),
    params=(
        sc.LIMIT,
        sc.CURSOR,
        Q,
        ISSUER,
        EXPIRY,
        {"name": "archived", "in": "query", "schema": {"type": "boolean"}},
    ),
)
async def list_(request: web.Request) -> web.Response:
    """Definitions by id, with expiry, acquisition and deployment status."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 100, 1, 500)
    issuer = request.query.get("issuer", "")
    if issuer and issuer not in ("private-ca", "acme", "vendor"):
        raise ValidationError("issuer must be private-ca, acme or vendor", field="issuer")
    expiry = request.query.get("expiry", "")
    if expiry and expiry not in EXPIRY_FILTERS:
        raise ValidationError(f"expiry must be one of {', '.join(EXPIRY_FILTERS)}", field="expiry")
    page = await definitions_page(
        ctx.db,
        now=ctx.clock.now(),
        q=request.query.get("q", "")[:200],
        issuer=issuer,
        expiry=expiry,
        archived=request.query.get("archived") == "true",
        per_page=limit,
        after_id=decode_cursor(request),
    )
    items = [r.to_json() for r in page.items]
    nxt = encode_cursor(page.items[-1].id) if len(page.items) == limit else None
    return ok({"items": items, "next_cursor": nxt})


@api.op(
    "POST",
    "/definitions",
    "Create a definition",
    request=sc.DEFINITION_NEW,
    response=sc.DEFINITION,
    status=201,
    extra_responses=(409,),
)
async def create(request: web.Request) -> web.Response:
    """Validate and create a definition."""
    ctx, who = actor(request)
    body = await json_body(request)
    spec = DefinitionSpec(
        name=s_field(body, "name", required=True, max_len=200),
        common_name=s_field(body, "common_name", max_len=64),
        sans=tuple(list_field(body, "sans")),
        key_type=s_field(body, "key_type", default="ec-p256", max_len=20),
        issuer_kind=s_field(body, "issuer", default="private-ca", max_len=20),
        organization=s_field(body, "organization", max_len=64),
        organizational_unit=s_field(body, "organizational_unit", max_len=64),
        locality=s_field(body, "locality", max_len=64),
        state=s_field(body, "state", max_len=64),
        country=s_field(body, "country", max_len=2),
        requestor=s_field(body, "requestor", max_len=200),
        notes=s_field(body, "notes", max_len=10000),
    )
    d = await create_definition(ctx.db, who, spec, clock=ctx.clock)
    return ok(definition_json(d, None), status=201)


@api.op("GET", "/definitions/{id}", "One definition", response=sc.DEFINITION, params=(sc.ID,))
async def get(request: web.Request) -> web.Response:
    """A definition with its current certificate."""
    ctx, _ = actor(request)
    item = await get_definition(ctx.db, path_id(request))
    return ok(definition_json(item.definition, item.current))


def _doc_json(doc: object) -> dict[str, object]:
    return {
        k: getattr(doc, k)
        for k in (
            "id",
            "filename",
            "size",
            "sha256",
            "content_type",
            "kind",
            "uploaded_by",
            "created_at",
        )
    }


@api.op(
    "GET",
    "/definitions/{id}/documents",
    "List a definition's documents (packages only for admins and their maker)",
    response=sc.array(sc.DOCUMENT),
    params=(sc.ID,),
)
async def documents(request: web.Request) -> web.Response:
    """The document folder."""
    ctx, who = actor(request)
    d = await load_definition(ctx.db, path_id(request))
    return ok([_doc_json(x) for x in await list_documents(ctx.db, who, d.id)])


@api.op(
    "POST",
    "/definitions/{id}/documents",
    "Add a document (JSON with base64 data)",
    request=sc.obj(
        {
            "filename": sc.string(max_len=255),
            "data": sc.string(),
            "content_type": sc.string(max_len=100),
        },
        ["filename", "data"],
    ),
    response=sc.DOCUMENT,
    status=201,
    params=(sc.ID,),
    extra_responses=(413,),
)
async def add_doc(request: web.Request) -> web.Response:
    """Store a file in the folder."""
    ctx, who = actor(request)
    body = (
        await json_body(request)
        if request.content_length is None or request.content_length <= MAX_DOCUMENT * 2
        else {}
    )
    data = b64_field(body, "data", max_bytes=MAX_DOCUMENT) or b""
    doc = await add_document(
        ctx.db,
        who,
        ctx.settings.documents_dir,
        path_id(request),
        s_field(body, "filename", required=True, max_len=255),
        data,
        ctx.clock,
        content_type=s_field(body, "content_type", max_len=100),
    )
    return ok(_doc_json(doc), status=201)


@api.op(
    "GET",
    "/definitions/{id}/documents/{doc}",
    "Download a document (a package only for admins and its maker)",
    params=(sc.ID, DOC),
    content_type="application/octet-stream",
)
async def get_doc(request: web.Request) -> web.Response:
    """The file's bytes."""
    ctx, who = actor(request)
    row, data = await read_document(
        ctx.db,
        who,
        ctx.settings.documents_dir,
        path_id(request),
        path_id(request, "doc"),
        ctx.clock,
    )
    return attachment(data, row.filename, "application/octet-stream")


@api.op(
    "DELETE",
    "/definitions/{id}/documents/{doc}",
    "Delete a document",
    params=(sc.ID, DOC),
    status=204,
)
async def del_doc(request: web.Request) -> web.Response:
    """Remove the file."""
    ctx, who = actor(request)
    await delete_document(
        ctx.db,
        who,
        ctx.settings.documents_dir,
        path_id(request),
        path_id(request, "doc"),
        ctx.clock,
    )
    return web.Response(status=204)


@api.op(
    "GET",
    "/certificates",
    "List certificates",
    response=sc.page_of(sc.CERTIFICATE),
    params=(
        sc.LIMIT,
        sc.CURSOR,
        {
            "name": "kind",
            "in": "query",
            "schema": {"type": "string", "enum": ["leaf", "ca", "all"]},
        },
    ),
)
async def certificates(request: web.Request) -> web.Response:
    """Certificates by id."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 100, 1, 500)
    rows = await list_certificates(
        ctx.db,
        kind=request.query.get("kind", "leaf"),
        after_id=decode_cursor(request),
        limit=limit,
    )
    return ok(
        {
            "items": [certificate_json(c) for c in rows],
            "next_cursor": encode_cursor(rows[-1].id) if len(rows) == limit else None,
        }
    )


@api.op(
    "GET",
    "/certificates/{id}",
    "One certificate with its chain",
    response=sc.CERTIFICATE,
    params=(sc.ID,),
)
async def certificate(request: web.Request) -> web.Response:
    """Details and chain."""
    ctx, _ = actor(request)
    view = await certificate_view(ctx.db, path_id(request))
    data = certificate_json(view.certificate)
    data["chain"] = chain_summary_json(view.chain)
    return ok(data)


WHAT = {
    "name": "what",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["cert", "chain", "fullchain"]},
}
FMT = {
    "name": "fmt",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["pem", "der"]},
}


@api.op(
    "GET",
    "/certificates/{id}/download/{what}.{fmt}",
    "Download certificate, chain or full chain",
    params=(sc.ID, WHAT, FMT),
    content_type="application/octet-stream",
)
async def download(request: web.Request) -> web.Response:
    """PEM or DER."""
    ctx, _ = actor(request)
    out = await certificate_download(
        ctx.db, path_id(request), request.match_info["what"], request.match_info["fmt"]
    )
    return attachment(out.data, out.filename, out.content_type)


@api.op(
    "GET",
    "/keys",
    "List private keys (never their material)",
    response=sc.page_of(sc.KEY),
    params=(sc.LIMIT, sc.CURSOR),
)
async def keys(request: web.Request) -> web.Response:
    """Key descriptions and which certificates use them."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 100, 1, 500)
    rows = await list_keys(ctx.db, after_id=decode_cursor(request), limit=limit)
    items = [k.to_json() for k in rows]
    return ok(
        {"items": items, "next_cursor": encode_cursor(rows[-1].id) if len(rows) == limit else None}
    )


@api.op(
    "POST",
    "/keys/{id}/export",
    "Export a key encrypted with a passphrase (Admin, audited)",
    request=sc.obj(
        {"format": sc.string(enum=list(FORMATS)), "passphrase": sc.string(max_len=1024)},
        ["format", "passphrase"],
    ),
    params=(sc.ID,),
    admin=True,
    content_type="application/octet-stream",
)
async def export(request: web.Request) -> web.Response:
    """Encrypted PKCS#8 PEM or PKCS#12."""
    ctx, who = actor(request)
    body = await json_body(request)
    passphrase = body.get("passphrase")
    if not isinstance(passphrase, str):
        raise ValidationError("passphrase must be a string", field="passphrase")
    out = await export_key(
        ctx.db,
        ctx.vault,
        who,
        path_id(request),
        s_field(body, "format", required=True, max_len=10),
        passphrase,
        ctx_of(request).clock,
    )
    return attachment(out.data, out.filename, out.content_type)
