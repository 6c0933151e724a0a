"""Access control middlewares: IP allow-list, sessions and bearer tokens, roles, CSRF."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from aiohttp import web
from yarl import URL

from certmgr.controller import appkeys
from certmgr.controller.domain.actors import Role
from certmgr.controller.services.admin.auth import actor_for
from certmgr.controller.services.admin.refusals import record_refusal
from certmgr.controller.services.admin.sessions import resume_session
from certmgr.controller.services.admin.tokens import TokenRefusedError, user_for_token
from certmgr.controller.web.context import REQUEST_CONTEXT, ctx_of
from certmgr.controller.web.forms import multipart_csrf
from certmgr.controller.web.ipacl import client_address
from certmgr.controller.web.session import COOKIE, SessionData, same_token

logger = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PREFIXES = ("/static/", "/pki/", "/api/agent/v1/", "/dl/")
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/login", "/favicon.ico", "/api/v1/openapi.json", "/metrics"}
)  # /metrics checks its own token
PASSWORD_CHANGE_PATHS = frozenset({"/account/password", "/logout"})
ADMIN_PREFIXES = (
    "/users",
    "/settings",
    "/backups",
    "/api/v1/users",
    "/api/v1/settings",
    "/api/v1/backups",
)


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


@web.middleware
async def ip_allow_list(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse addresses outside ``ip_acl.txt`` with 403 (counted per source and minute)."""
    settings = request.app[appkeys.SETTINGS]
    proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]
    # every header line counts: some proxies append a line instead of extending the client's
    forwarded = ", ".join(request.headers.getall("X-Forwarded-For", [])) or None
    address = client_address(request.remote, forwarded, proxies)
    ctx = ctx_of(request)
    ctx.address = address
    if not request.app[appkeys.IPACL].allows(address):
        await record_refusal(ctx.db, address, request.path, ctx.clock)
        raise web.HTTPForbidden(text="Your address is not on this certmgr's IP allow-list.")
    return await handler(request)


def _token_refused(detail: str) -> web.HTTPUnauthorized:
    body = {"type": "about:blank", "title": "API token refused", "status": 401, "detail": detail}
    return web.HTTPUnauthorized(
        text=json.dumps(body),
        content_type="application/problem+json",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the user from a bearer token (API) or the session cookie (console); guard roles and CSRF."""
    ctx = ctx_of(request)
    path = request.path
    is_api = path.startswith("/api/v1/")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        try:
            user = await user_for_token(ctx.db, auth[7:].strip(), ctx.clock)
        except TokenRefusedError as err:
            # public routes (``/metrics`` with its own token) decide for themselves
            if not _is_public(path):
                raise _token_refused(str(err)) from None
        else:
            ctx.user, ctx.actor, ctx.via_api = user, actor_for(user, ctx.address), True
    else:
        codec = request.app[appkeys.SESSIONS]
        data = codec.decode(request.cookies.get(COOKIE))
        if data is not None:
            s = ctx.settings
            user_or_none = await resume_session(
                ctx.db,
                data.sid,
                idle=dt.timedelta(minutes=s.session_idle_minutes),
                max_age=dt.timedelta(hours=s.session_max_hours),
                clock=ctx.clock,
            )
            if user_or_none is not None:
                ctx.user, ctx.session = user_or_none, data
                ctx.actor = actor_for(user_or_none, ctx.address)
    request[REQUEST_CONTEXT] = ctx
    if ctx.actor is None:
        if _is_public(path):
            return await handler(request)
        if is_api:
            raise web.HTTPUnauthorized(
                text="sign in or send an API token", headers={"WWW-Authenticate": "Bearer"}
            )
        raise web.HTTPFound("/login?next=" + quote(safe_next(request.path_qs), safe=""))
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
    return await handler(request)


async def _form_csrf(request: web.Request) -> str | None:
    if request.content_type == "multipart/form-data":
        # the token is the form's first part; the handler reads the rest of the stream
        return await multipart_csrf(request)
    form = await request.post()
    value = form.get("csrf")
    return value if isinstance(value, str) else None


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirect).

    Browsers drop tabs and line breaks from URLs and read a backslash as a slash, so
    ``/%09/evil.example`` would arrive as ``//evil.example``: control characters, backslashes
    and anything that is not an absolute path once normalised send the user to ``default``.
    """
    if not target or len(target) > 2000:
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) or "\\" in target:
        return default
    try:
        normalised = str(URL(target))
    except ValueError:
        return default
    for candidate in (target, normalised):
        parts = urlsplit(candidate)
        if (
            not candidate.startswith("/")
            or candidate.startswith("//")
            or parts.scheme
            or parts.netloc
            or any(seg in (".", "..") for seg in parts.path.split("/"))
        ):
            return default
    return normalised


def set_session_cookie(request: web.Request, resp: web.StreamResponse, data: SessionData) -> None:
    """Store a session in the response's cookie (Secure, HttpOnly, SameSite=Strict, __Host- prefix)."""
    value = request.app[appkeys.SESSIONS].encode(data)
    resp.set_cookie(COOKIE, value, path="/", secure=True, httponly=True, samesite="Strict")


def clear_session_cookie(resp: web.StreamResponse) -> None:
    """Sign out."""
    resp.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
