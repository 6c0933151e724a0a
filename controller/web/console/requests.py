"""Acquisition in the console: start a request, follow it, choose a product, order, receive, retry, cancel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import BodyPartReader, web

from certmgr.controller.domain.states import request_summary
from certmgr.controller.domain.values import parse_day, parse_moment
from certmgr.controller.services.acquisition.catalogue import find_product
from certmgr.controller.services.acquisition.challenges import DbHttp01Solver
from certmgr.controller.services.acquisition.issuing import acquire
from certmgr.controller.services.acquisition.receiving import receive_certificate
from certmgr.controller.services.acquisition.request_views import (
    REQUEST_AGE_FILTERS,
    REQUEST_ISSUERS,
    REQUEST_STATES,
    load_request,
    request_detail,
    requests_page,
)
from certmgr.controller.services.acquisition.requests import (
    IssuerEnv,
    cancel_request,
    record_order,
    start_request,
)
from certmgr.controller.web.console.tasks import run_as_task
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.errors import status_for
from certmgr.controller.web.forms import (
    FormErrors,
    ListQuery,
    form_of,
    multiline,
    multipart_reader,
    text,
)
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import (
    CertmgrError,
    ConflictError,
    InputTooLargeError,
    NotFoundError,
    UpstreamError,
    ValidationError,
)

routes = web.RouteTableDef()
MAX_UPLOAD = 1024 * 1024


@routes.get("/requests")
async def requests_list(request: web.Request) -> web.Response:
    """Every request, newest first, filtered by state, issuer and age (filters in the URL), paged."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request, sortable=["id"], default_sort="id", filters=("state", "issuer", "age")
    )
    try:
        page = await requests_page(
            ctx.db,
            now=ctx.clock.now(),
            status=q.filter("state"),
            issuer=q.filter("issuer"),
            age=q.filter("age"),
            q=q.q,
            page=q.page,
            per_page=q.per_page,
        )
        error = None
    except ValidationError as err:
        page = await requests_page(ctx.db, now=ctx.clock.now(), per_page=q.per_page)
        error = str(err)
    return render(
        request,
        "console/requests.html",
        title="Requests",
        page=page,
        q=q,
        states=REQUEST_STATES,
        issuers=REQUEST_ISSUERS,
        ages=REQUEST_AGE_FILTERS,
        error=error,
        status=422 if error else 200,
    )


def issuer_env(request: web.Request) -> IssuerEnv:
    """Where issued certificates' CA files and CRL live, and the HTTP-01 solver (when listening)."""
    ctx = ctx_of(request)
    s = ctx.settings
    return IssuerEnv(
        s.ca_dir, s.effective_crl_url, DbHttp01Solver(ctx.db) if s.http01_listen else None
    )


@routes.post("/definitions/{id:\\d+}/requests")
async def start(request: web.Request) -> web.Response:
    """Acquire new certificate: a new or renewal request; private-CA and ACME ones run at once."""
    ctx = ctx_of(request)
    try:
        req = await start_request(
            ctx.db, ctx.vault, ctx.require_actor(), int(request.match_info["id"]), ctx.clock
        )
        if req.issuer_kind == "acme":  # an order takes a while: its page follows it
            raise await _order_as_task(request, req.id)
        if req.issuer_kind == "private-ca":
            req = await acquire(
                ctx.db, ctx.vault, ctx.require_actor(), req.id, ctx.clock, issuer_env(request)
            )
    except CertmgrError as err:
        raise redirect(
            request, f"/definitions/{request.match_info['id']}", f"Not started: {err}", "bad"
        ) from err
    raise redirect(
        request,
        f"/requests/{req.id}",
        request_summary(req.id, req.status, req.issuer_kind, req.last_error or ""),
        "ok" if req.status == "done" or req.issuer_kind == "vendor" else "bad",
    )


async def _page(
    request: web.Request,
    *,
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    order: Mapping[str, str] | None = None,
    receive: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The request's page.

    ``errors`` are the order or receive form's, by field, with what was typed in ``order`` or
    ``receive`` (never a passphrase); ``error`` is about the request itself.
    """
    ctx = ctx_of(request)
    view = await request_detail(ctx.db, request.match_info["id"], ordering=True)
    req = view.request
    stored = {
        "product": req.product_id or "",
        "vendor_account": str(req.vendor_account_id or ""),
        "order_number": req.order_number or "",
        "order_date": req.order_date.strftime("%Y-%m-%d") if req.order_date else "",
        "tracking_notes": req.tracking_notes or "",
    }
    return render(
        request,
        "console/request.html",
        title=f"Request {view.request.id}",
        req=view.request,
        d=view.definition,
        events=view.events,
        products=view.products,
        chosen=view.chosen,
        accounts=view.accounts,
        error=error,
        errors=errors or {},
        order=order if order is not None else stored,
        receive=receive or {},
        status=status,
        now=ctx.clock.now(),
    )


@routes.get("/requests/{id:\\d+}")
async def detail(request: web.Request) -> web.Response:
    """A request and its history."""
    return await _page(request)


@routes.get("/requests/{id:\\d+}/csr.pem")
async def csr(request: web.Request) -> web.Response:
    """Download the CSR."""
    req = await load_request(ctx_of(request).db, request.match_info["id"])
    if not req.csr_pem:
        raise web.HTTPNotFound(text="no CSR yet")
    return web.Response(
        text=req.csr_pem,
        content_type="application/pkcs10",
        headers={"Content-Disposition": f'attachment; filename="request-{req.id}.csr"'},
    )


@dataclass(frozen=True)
class _Order:
    order_number: str
    order_date: dt.datetime | None
    tracking_notes: str
    product_id: str | None
    vendor_account_id: int | None


def _read_order(form: Mapping[str, object], errors: FormErrors) -> _Order:
    """The manual order as typed, for :func:`record_order`; every wrong field noted."""
    product = errors.read(lambda: text(form, "product", max_len=100, label="Product"), "")
    if product:
        try:
            find_product(product)
        except NotFoundError:
            errors.add(ValidationError("choose a product from the list", field="product"))
    account = errors.read(
        lambda: text(form, "vendor_account", max_len=12, label="Vendor account"), ""
    )
    if account and not account.isdigit():
        errors.add(ValidationError("choose a vendor account from the list", field="vendor_account"))
    day = errors.read(lambda: text(form, "order_date", max_len=10, label="Order date"), "")
    return _Order(
        order_number=errors.read(
            lambda: text(form, "order_number", required=True, max_len=200, label="Order number"),
            "",
        ),
        order_date=errors.read(
            lambda: parse_day(day, field="order_date", label="Order date"), None
        ),
        tracking_notes=errors.read(
            lambda: multiline(form, "tracking_notes", max_len=2000, label="Tracking notes"), ""
        ),
        product_id=product or None,
        vendor_account_id=int(account) if account.isdigit() else None,
    )


@routes.post("/requests/{id:\\d+}/order")
async def order(request: web.Request) -> web.Response:
    """Record the manual order: product, vendor account, order number, date, notes.

    Every wrong field is named beside it at once, what was typed kept.
    """
    ctx = ctx_of(request)
    form = await form_of(request)
    typed = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    errors = FormErrors()
    typed_order = _read_order(form, errors)
    if not errors:
        try:
            await record_order(
                ctx.db,
                ctx.require_actor(),
                int(request.match_info["id"]),
                ctx.clock,
                order_number=typed_order.order_number,
                order_date=typed_order.order_date,
                tracking_notes=typed_order.tracking_notes,
                product_id=typed_order.product_id,
                vendor_account_id=typed_order.vendor_account_id,
            )
        except ValidationError as err:
            errors.add(err)
        except NotFoundError:
            errors.add(
                ValidationError("that vendor account no longer exists", field="vendor_account")
            )
        except CertmgrError as err:
            return await _page(request, error=str(err), order=typed, status=status_for(err))
        else:
            raise redirect(request, f"/requests/{request.match_info['id']}", "Order recorded.")
    return await _page(request, errors=errors.by_field, order=typed, status=422)


@routes.post("/requests/{id:\\d+}/receive")
async def receive(request: web.Request) -> web.Response:
    """Receive the certificate (upload or paste; chain files optional).

    Every wrong field (the certificate, the time to make it current) is named beside it at once;
    what was typed is kept, never the passphrase.
    """
    ctx = ctx_of(request)
    reader = await multipart_reader(request)
    cert: bytes | None = None
    name = "pasted certificate"
    chains: list[bytes] = []
    password: bytes | None = None
    hold = pasted = ""
    total = 0
    errors = FormErrors()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = bytes(await part.read())
        total += len(data)
        if total > MAX_UPLOAD:
            return await _page(
                request,
                error=str(InputTooLargeError("the upload is larger than 1 MiB")),
                status=413,
            )
        if part.name in ("file", "chain") and part.filename and not data:
            errors.add(
                ValidationError(
                    f"the file {part.filename} is empty: choose it again", field=part.name
                )
            )
        if part.name == "file" and data:
            cert, name = data, part.filename or "certificate"
        elif part.name == "pasted" and data.strip():
            pasted = data.decode("utf-8", "replace")[:MAX_UPLOAD]
            cert = cert if cert is not None else data
        elif part.name == "chain" and data:
            chains.append(data)
        elif part.name == "password" and data:
            password = data
        elif part.name == "hold_until" and data.strip():
            hold = data.decode("utf-8", "replace").strip()[:40]
    typed = {"pasted": pasted, "hold_until": hold}
    if cert is None and "file" not in errors.by_field:
        errors.add(ValidationError("upload or paste the certificate", field="file"))
    when = errors.read(
        lambda: parse_moment(hold, field="hold_until", label="Make it current at"), None
    )
    if not errors and cert is not None:
        try:
            done = await receive_certificate(
                ctx.db,
                ctx.require_actor(),
                int(request.match_info["id"]),
                cert,
                ctx.clock,
                name=name,
                chain_data=chains,
                password=password,
                vault=ctx.vault,
                hold_until=when,
            )
        except ValidationError as err:
            errors.add(err, field=err.field if err.field in ("password", "hold_until") else "file")
        except ConflictError as err:
            return await _page(
                request, error=f"Refused: {err}", receive=typed, status=status_for(err)
            )
        except CertmgrError as err:
            errors.add(ValidationError(f"refused: {err}", field="file"))
        else:
            raise redirect(
                request,
                f"/requests/{request.match_info['id']}",
                "Certificate received; it is now the definition's current certificate."
                if done.status == "done"
                else "Certificate received and held: it becomes current at the time shown on its definition.",
            )
    return await _page(request, errors=errors.by_field, receive=typed, status=422)


async def _order_as_task(request: web.Request, req_id: int) -> web.HTTPSeeOther:
    """Acquire request ``req_id`` in the background; the 303 goes to the task's progress page."""
    ctx = ctx_of(request)
    actor, env = ctx.require_actor(), issuer_env(request)

    async def order(rid: int) -> str:
        req = await acquire(ctx.db, ctx.vault, actor, rid, ctx.clock, env)
        if req.status != "done" and req.last_error:
            raise UpstreamError(
                request_summary(req.id, req.status, req.issuer_kind, req.last_error)
            )
        return request_summary(req.id, req.status, req.issuer_kind, req.last_error or "")

    return await run_as_task(
        request,
        kind="request.acquire",
        title=f"Order the certificate of request {req_id}",
        items=[req_id],
        step=order,
        location=f"/requests/{req_id}",
    )


@routes.post("/requests/{id:\\d+}/retry")
async def retry(request: web.Request) -> web.Response:
    """Try the issuer again now (an ACME order runs as a task with its progress page)."""
    ctx = ctx_of(request)
    if (await load_request(ctx.db, request.match_info["id"])).issuer_kind == "acme":
        raise await _order_as_task(request, int(request.match_info["id"]))
    try:
        req = await acquire(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            int(request.match_info["id"]),
            ctx.clock,
            issuer_env(request),
        )
    except CertmgrError as err:
        return await _page(request, error=str(err), status=status_for(err))
    raise redirect(
        request,
        f"/requests/{req.id}",
        request_summary(req.id, req.status, req.issuer_kind, req.last_error or ""),
        "ok" if req.status == "done" else "bad",
    )


@routes.post("/requests/{id:\\d+}/cancel")
async def cancel(request: web.Request) -> web.Response:
    """Cancel."""
    ctx = ctx_of(request)
    try:
        await cancel_request(ctx.db, ctx.require_actor(), int(request.match_info["id"]), ctx.clock)
    except CertmgrError as err:
        return await _page(request, error=str(err), status=status_for(err))
    raise redirect(request, f"/requests/{request.match_info['id']}", "Request cancelled.")
