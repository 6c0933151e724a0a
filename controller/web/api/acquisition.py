"""API: certificate requests and bulk operations on definitions (accounts and products: ``accounts``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certmgr.controller.domain.values import parse_day, parse_moment
from certmgr.controller.services.acquisition.bulk import (
    IssuerChange,
    change_issuer,
    clone_definitions,
)
from certmgr.controller.services.acquisition.challenges import DbHttp01Solver
from certmgr.controller.services.acquisition.issuing import acquire
from certmgr.controller.services.acquisition.receiving import receive_certificate
from certmgr.controller.services.acquisition.request_views import (
    REQUEST_AGE_FILTERS,
    REQUEST_ISSUERS,
    REQUEST_STATES,
    list_requests,
    request_detail,
    requests_page,
)
from certmgr.controller.services.acquisition.requests import (
    IssuerEnv,
    cancel_request,
    record_order,
    start_request,
)
from certmgr.controller.views import definition_json, history_json
from certmgr.controller.views import request_api_json as _req_json
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    b64_field,
    bool_field,
    int_param,
    json_body,
    list_field,
    ok,
    path_id,
    s_field,
)
from certmgr.controller.web.context import RequestContext
from certmgr.shared.errors import ValidationError

api = ApiRoutes("acquisition")
REQUEST = sc.obj(
    {
        "id": sc.integer(),
        "definition_id": sc.integer(),
        "kind": sc.string(),
        "status": sc.string(),
        "issuer": sc.string(),
        "last_error": sc.string(),
        "history": sc.array({"type": "object"}),
    },
    ["id", "status"],
)
IDS = sc.array({"type": ["integer", "string"]}, max_items=5000)


def _env(ctx: RequestContext) -> IssuerEnv:
    return IssuerEnv(
        ctx.settings.ca_dir,
        ctx.settings.effective_crl_url,
        DbHttp01Solver(ctx.db) if ctx.settings.http01_listen else None,
    )


@api.op(
    "GET",
    "/requests",
    "List requests",
    response=sc.array(REQUEST),
    params=(
        {"name": "open", "in": "query", "schema": {"type": "boolean"}},
        {
            "name": "state",
            "in": "query",
            "schema": {"type": "string", "enum": list(REQUEST_STATES)},
        },
        {
            "name": "issuer",
            "in": "query",
            "schema": {"type": "string", "enum": list(REQUEST_ISSUERS)},
        },
        {
            "name": "age",
            "in": "query",
            "schema": {"type": "string", "enum": list(REQUEST_AGE_FILTERS)},
        },
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        sc.LIMIT,
    ),
)
async def list_(request: web.Request) -> web.Response:
    """Requests, newest first; filtered by state (or open), issuer and age (day, week, month, older), paged."""
    ctx, _ = actor(request)
    qs = request.query
    if not any(k in qs for k in ("state", "issuer", "age", "page", "limit")):
        rows = await list_requests(
            ctx.db, open_only=qs.get("open") == "true", newest_first=True, limit=1000
        )
        return ok([_req_json(r) for r in rows])
    page = await requests_page(
        ctx.db,
        now=ctx.clock.now(),
        status=qs.get("state", "open" if qs.get("open") == "true" else ""),
        issuer=qs.get("issuer", ""),
        age=qs.get("age", ""),
        page=int_param(request, "page", 1, 1, 100_000),
        per_page=int_param(request, "limit", 100, 1, 500),
    )
    return ok([_req_json(r.request) for r in page.items])


@api.op(
    "POST",
    "/requests",
    "Start a request (private CA and ACME complete it unless wait is false)",
    request=sc.obj(
        {
            "definition": sc.string(max_len=200),
            "reuse_key_id": {"type": ["integer", "null"]},
            "wait": sc.boolean(),
        },
        ["definition"],
    ),
    response=REQUEST,
    status=201,
    extra_responses=(409,),
)
async def create(request: web.Request) -> web.Response:
    """Acquire new certificate."""
    ctx, who = actor(request)
    body = await json_body(request)
    reuse = body.get("reuse_key_id")
    if reuse is not None and (not isinstance(reuse, int) or isinstance(reuse, bool)):
        raise ValidationError("reuse_key_id must be a whole number", field="reuse_key_id")
    req = await start_request(
        ctx.db,
        ctx.vault,
        who,
        s_field(body, "definition", required=True, max_len=200),
        ctx.clock,
        reuse_key_id=reuse,
    )
    if bool_field(body, "wait", True) and req.issuer_kind in ("private-ca", "acme"):
        req = await acquire(ctx.db, ctx.vault, who, req.id, ctx.clock, _env(ctx))
    return ok(_req_json(req), status=201)


@api.op("GET", "/requests/{id}", "A request with its history", response=REQUEST, params=(sc.ID,))
async def get(request: web.Request) -> web.Response:
    """Details."""
    ctx, _ = actor(request)
    detail = await request_detail(ctx.db, path_id(request))
    data = _req_json(detail.request)
    data["history"] = history_json(detail.events)
    return ok(data)


@api.op(
    "POST",
    "/requests/{id}/acquire",
    "Try the automatic issuer again",
    response=REQUEST,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def retry(request: web.Request) -> web.Response:
    """Acquire now."""
    ctx, who = actor(request)
    return ok(
        _req_json(await acquire(ctx.db, ctx.vault, who, path_id(request), ctx.clock, _env(ctx)))
    )


@api.op(
    "POST",
    "/requests/{id}/order",
    "Record a manual vendor order",
    request=sc.obj(
        {
            "order_number": sc.string(max_len=200),
            "order_date": sc.string(max_len=10),
            "tracking_notes": sc.string(max_len=10000),
            "product": sc.string(max_len=100),
            "vendor_account_id": {"type": ["integer", "null"]},
        },
        ["order_number"],
    ),
    response=REQUEST,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def order(request: web.Request) -> web.Response:
    """Order."""
    ctx, who = actor(request)
    body = await json_body(request)
    date_text = s_field(body, "order_date", max_len=10)
    when = parse_day(date_text, field="order_date")
    account = body.get("vendor_account_id")
    if account is not None and (not isinstance(account, int) or isinstance(account, bool)):
        raise ValidationError("vendor_account_id must be a whole number", field="vendor_account_id")
    r = await record_order(
        ctx.db,
        who,
        path_id(request),
        ctx.clock,
        order_number=s_field(body, "order_number", required=True, max_len=200),
        order_date=when,
        tracking_notes=s_field(body, "tracking_notes", max_len=10000),
        product_id=s_field(body, "product", max_len=100) or None,
        vendor_account_id=account,
    )
    return ok(_req_json(r))


@api.op(
    "POST",
    "/requests/{id}/receive",
    "Receive the vendor's certificate (base64 of any importable format)",
    request=sc.obj(
        {
            "certificate": sc.string(),
            "chain": sc.array(sc.string(), max_items=10),
            "password": sc.string(max_len=1024),
            "hold_until": sc.string(max_len=40),
        },
        ["certificate"],
    ),
    response=REQUEST,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def receive(request: web.Request) -> web.Response:
    """Receive."""
    ctx, who = actor(request)
    body = await json_body(request)
    cert = b64_field(body, "certificate", max_bytes=1024 * 1024) or b""
    chains = [
        b64_field({"chain": c}, "chain", max_bytes=1024 * 1024) or b""
        for c in list_field(body, "chain", max_items=10, max_len=2 * 1024 * 1024)
    ]
    pw = s_field(body, "password", max_len=1024)
    r = await receive_certificate(
        ctx.db,
        who,
        path_id(request),
        cert,
        ctx.clock,
        name="certificate",
        chain_data=chains,
        password=pw.encode() or None,
        vault=ctx.vault,
        hold_until=parse_moment(s_field(body, "hold_until", max_len=40), field="hold_until"),
    )
    return ok(_req_json(r))


@api.op(
    "POST",
    "/requests/{id}/cancel",
    "Cancel an open request",
    response=REQUEST,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def cancel(request: web.Request) -> web.Response:
    """Cancel."""
    ctx, who = actor(request)
    return ok(_req_json(await cancel_request(ctx.db, who, path_id(request), ctx.clock)))


def _refs(body: dict[str, Any]) -> list[str | int]:
    raw = body.get("definitions")
    if (
        not isinstance(raw, list)
        or not raw
        or len(raw) > 5000
        or not all(isinstance(x, int | str) and not isinstance(x, bool) for x in raw)
    ):
        raise ValidationError(
            "definitions must be a list of 1-5000 ids or names", field="definitions"
        )
    return [x if isinstance(x, int) else str(x)[:200] for x in raw]


@api.op(
    "POST",
    "/definitions/bulk/clone",
    "Clone definitions (all or none)",
    request=sc.obj(
        {
            "definitions": IDS,
            "suffix": sc.string(max_len=50),
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "issuer": sc.string(enum=["private-ca", "acme", "vendor"]),
        },
        ["definitions", "suffix"],
    ),
    response=sc.array(sc.DEFINITION),
    status=201,
    extra_responses=(409,),
)
async def bulk_clone(request: web.Request) -> web.Response:
    """Clone."""
    ctx, who = actor(request)
    body = await json_body(request)
    mapping = body.get("map") or {}
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise ValidationError("map must be an object of domain to domain", field="map")
    made = await clone_definitions(
        ctx.db,
        who,
        _refs(body),
        ctx.clock,
        name_suffix=s_field(body, "suffix", required=True, max_len=50),
        domain_map=list(mapping.items()),
        issuer_kind=s_field(body, "issuer", max_len=20) or None,
    )
    return ok([definition_json(d, None) for d in made], status=201)


@api.op(
    "POST",
    "/definitions/bulk/change-issuer",
    "Move definitions to another issuer/product/vendor and optionally renew them",
    request=sc.obj(
        {
            "definitions": IDS,
            "issuer": sc.string(enum=["private-ca", "acme", "vendor"]),
            "product": sc.string(max_len=100),
            "vendor_account_id": {"type": ["integer", "null"]},
            "acme_account_id": {"type": ["integer", "null"]},
            "renew": sc.boolean(),
        },
        ["definitions", "issuer"],
    ),
    response=sc.array({"type": "object"}),
)
async def bulk_change(request: web.Request) -> web.Response:
    """Change issuer."""
    ctx, who = actor(request)
    body = await json_body(request)
    ids = {}
    for key in ("vendor_account_id", "acme_account_id"):
        v = body.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise ValidationError(f"{key} must be a whole number", field=key)
        ids[key] = v
    change = IssuerChange(
        s_field(body, "issuer", required=True, max_len=20),
        s_field(body, "product", max_len=100) or None,
        ids["vendor_account_id"],
        ids["acme_account_id"],
    )
    results = await change_issuer(
        ctx.db,
        ctx.vault,
        who,
        _refs(body),
        change,
        ctx.clock,
        renew=bool_field(body, "renew"),
        env=_env(ctx),
    )
    return ok([r.__dict__ for r in results])
