"""Access control middlewares: IP allow-list, sessions and bearer tokens, roles, CSRF."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.db.models import User
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.audit import audit
from certmgr.controller.services.auth import actor_for, user_for_token
from certmgr.controller.web.context import REQUEST_CONTEXT, RequestContext, ctx_of
from certmgr.controller.web.ipacl import client_address
from certmgr.controller.web.session import COOKIE, SessionData, same_token

logger = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PREFIXES = ("/static/", "/pki/", "/api/agent/v1/", "/dl/")
PUBLIC_PATHS = frozenset(
    {"/healthz", "/login", "/favicon.ico", "/api/v1/openapi.json", "/metrics"}
)  # /metrics checks its own optional token
PASSWORD_CHANGE_PATHS = frozenset({"/account/password", "/logout"})
ADMIN_PREFIXES = ("/users", "/settings", "/api/v1/users", "/api/v1/settings")


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


@web.middleware
async def ip_allow_list(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse addresses outside ``ip_acl.txt`` with 403 (and an audit event)."""
    settings = request.app[appkeys.SETTINGS]
    proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]
    # every header line counts: some proxies append a line instead of extending the client's
    forwarded = ", ".join(request.headers.getall("X-Forwarded-For", [])) or None
    address = client_address(request.remote, forwarded, proxies)
    ctx = ctx_of(request)
    ctx.address = address
    if not request.app[appkeys.IPACL].allows(address):
        async with ctx.db.transaction() as s:
            audit(
                s,
                Actor(name="anonymous", role=Role.USER, source=address),
                "access.ip-refused",
                "request",
                "",
                {"path": request.path[:200]},
                clock=ctx.clock,
            )
        raise web.HTTPForbidden(text="Your address is not on this certmgr's IP allow-list.")
    return await handler(request)


def _session_valid(data: SessionData, user: User, ctx: RequestContext) -> bool:
    now = time.time()
    s = ctx.settings
    if (
        now - data.seen > s.session_idle_minutes * 60
        or now - data.created > s.session_max_hours * 3600
    ):
        return False
    changed = user.password_changed_at.timestamp() if user.password_changed_at else 0.0
    return not user.disabled and changed <= data.pw_at + 1e-3


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the user from a bearer token (API) or the session cookie (console); guard roles and CSRF."""
    ctx = ctx_of(request)
    path = request.path
    is_api = path.startswith("/api/v1/")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        user = await user_for_token(ctx.db, auth[7:].strip(), ctx.clock)
        if user is None and not _is_public(path):
            raise web.HTTPUnauthorized(
                text="invalid or expired API token", headers={"WWW-Authenticate": "Bearer"}
            )
        if user is not None:
            ctx.user, ctx.actor, ctx.via_api = user, actor_for(user, ctx.address), True
    else:
        codec = request.app[appkeys.SESSIONS]
        data = codec.decode(request.cookies.get(COOKIE))
        if data is not None:
            async with ctx.db.reader() as s:
                user = await s.get(User, data.uid)
            if user is not None and _session_valid(data, user, ctx):
                ctx.user, ctx.actor, ctx.session = user, actor_for(user, ctx.address), data
    request[REQUEST_CONTEXT] = ctx
    if ctx.actor is None:
        if _is_public(path):
            return await handler(request)
        if is_api:
            raise web.HTTPUnauthorized(
                text="sign in or send an API token", headers={"WWW-Authenticate": "Bearer"}
            )
        raise web.HTTPFound("/login?next=" + _safe_next(request.path_qs))
    assert ctx.user is not None  # noqa: S101 - set together with actor
    if (
        ctx.user.must_change_password
        and not ctx.via_api
        and path not in PASSWORD_CHANGE_PATHS
        and not _is_public(path)
    ):
        raise web.HTTPFound("/account/password")
    if (
        path.startswith(ADMIN_PREFIXES)
        and ctx.actor.role is not Role.ADMIN
        and not path.startswith("/api/v1/users/me")
    ):
        raise web.HTTPForbidden(text="this needs the Admin role")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not ctx.via_api:
        form_token = request.headers.get("X-CSRF-Token")
        if form_token is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form_token = await _form_csrf(request)
        if not same_token(form_token, ctx.csrf):
            raise web.HTTPForbidden(
                text="The form has expired or did not come from this console (CSRF check failed). Reload the page and try again."
            )
    resp = await handler(request)
    if ctx.session is not None and not ctx.via_api and time.time() - ctx.session.seen > 60:
        refresh_session_cookie(request, resp, ctx.session)
    return resp


async def _form_csrf(request: web.Request) -> str | None:
    if request.content_type == "multipart/form-data":
        # Multipart forms carry the token in the query string so big uploads are not read twice.
        return request.query.get("csrf")
    form = await request.post()
    value = form.get("csrf")
    return value if isinstance(value, str) else None


def _safe_next(path: str) -> str:
    from urllib.parse import quote

    return quote(path if path.startswith("/") and not path.startswith("//") else "/", safe="")


def set_session_cookie(request: web.Request, resp: web.StreamResponse, data: SessionData) -> None:
    """Store a session in the response's cookie (Secure, HttpOnly, SameSite=Strict, __Host- prefix)."""
    value = request.app[appkeys.SESSIONS].encode(data)
    resp.set_cookie(COOKIE, value, path="/", secure=True, httponly=True, samesite="Strict")


def refresh_session_cookie(
    request: web.Request, resp: web.StreamResponse, data: SessionData
) -> None:
    """Move the idle timer forward."""
    set_session_cookie(
        request, resp, SessionData(data.uid, data.created, time.time(), data.csrf, data.pw_at)
    )


def clear_session_cookie(resp: web.StreamResponse) -> None:
    """Sign out."""
    resp.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
