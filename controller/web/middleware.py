"""Middlewares: error mapping (the one place, through ``web.errors``), security headers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from certmgr.controller.web.errors import http_error
from certmgr.controller.web.render import render
from certmgr.shared.errors import CertmgrError, ValidationError

logger = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map certmgr errors to problem details (API) or a plain page; never show a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or _wants_json(request) or exc.content_type != "text/plain":
            raise
        return _styled_http_error(request, exc)
    except CertmgrError as err:
        status, title = http_error(err)
        body: dict[str, object] = {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": str(err),
        }
        if isinstance(err, ValidationError) and err.field:
            body["field"] = err.field
        retry_after = getattr(err, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}
        if _wants_json(request):
            resp = web.json_response(body, status=status, content_type="application/problem+json")
        else:
            resp = _error_page(request, title, str(err), status)
        resp.headers.update(headers)
        return resp
    except Exception:
        logger.exception("unhandled error in %s %s", request.method, request.path)
        if _wants_json(request):
            return web.json_response(
                {"type": "about:blank", "title": "Internal error", "status": 500},
                status=500,
                content_type="application/problem+json",
            )
        return _error_page(
            request,
            "Internal error",
            "Something went wrong; the details are in the controller's log.",
            500,
        )


# What a person reads when aiohttp or a guard answers with a bare status (its default text says
# only "404: Not Found").
_PLAIN_HTTP: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The browser sent something this page cannot read."),
    401: ("Sign-in needed", "Sign in to see this page."),
    403: ("Not allowed", "Your account may not open this page."),
    404: (
        "Page not found",
        "There is no page at this address. It may have been removed, or the link is wrong.",
    ),
    405: ("Not available", "This address does not take that kind of request."),
    409: (
        "Changed meanwhile",
        "This was changed in the meantime. Reload the page to see its current state.",
    ),
    413: ("Too large", "What was sent is larger than this console accepts."),
}


def _styled_http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    title, generic = _PLAIN_HTTP.get(exc.status, (exc.reason, ""))
    text = exc.text or ""
    detail = generic if not text or text == f"{exc.status}: {exc.reason}" else text
    resp = _error_page(request, title, detail, exc.status)
    for name in ("WWW-Authenticate", "Retry-After", "Allow"):
        if name in exc.headers:
            resp.headers[name] = exc.headers[name]
    return resp


def _error_page(request: web.Request, title: str, detail: str, status: int) -> web.Response:
    return render(
        request, "error.html", title=title, detail=detail, status=status, error_status=status
    )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CSP without inline script, HSTS, frame denial, no-sniff, no referrer leaks."""
    resp = await handler(request)
    h = resp.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("Strict-Transport-Security", "max-age=31536000")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return resp
