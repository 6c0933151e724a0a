"""Rendering console pages and redirects with one-shot messages."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.domain.actors import Role
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.session import FLASH_COOKIE, decode_flash, encode_flash

NAV = (
    ("/dashboard", "Dashboard", False),
    ("/definitions", "Definitions", False),
    ("/deployments", "Deployments", False),
    ("/acquisitions", "Acquisition", False),
    ("/monitor", "Monitor Control", False),
    ("/findings", "Findings", False),
    ("/agents", "Agents", False),
    ("/certificates", "Certificates", False),
    ("/keys", "Private Keys", False),
    ("/import", "Import", False),
    ("/ca", "Private CA", False),
    ("/emails", "Sent Emails", False),
    ("/audit", "Audit Log", False),
    ("/users", "Users", True),
    ("/settings", "Settings", True),
)


def render(
    request: web.Request, template: str, *, status: int = 200, **values: Any
) -> web.Response:
    """Render a template with the common context (user, CSRF token, navigation, flash message)."""
    ctx = ctx_of(request)
    flash = decode_flash(request.app[appkeys.SESSIONS], request.cookies.get(FLASH_COOKIE))
    is_admin = ctx.actor is not None and ctx.actor.role is Role.ADMIN
    nav = [(href, label) for href, label, admin_only in NAV if is_admin or not admin_only]
    base: dict[str, Any] = {"user": ctx.user, "csrf": ctx.csrf, "nav": nav, "path": request.path}
    base.update(flash=flash, is_admin=is_admin)
    html = request.app[appkeys.TEMPLATES].get_template(template).render(**{**base, **values})
    resp = web.Response(text=html, content_type="text/html", status=status)
    if flash is not None:
        resp.del_cookie(FLASH_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def redirect(
    request: web.Request, location: str, message: str | None = None, level: str = "ok"
) -> web.HTTPSeeOther:
    """A 303 to ``location`` carrying a one-shot message."""
    exc = web.HTTPSeeOther(location)
    if message:
        exc.set_cookie(
            FLASH_COOKIE,
            encode_flash(request.app[appkeys.SESSIONS], message, level),
            path="/",
            secure=True,
            httponly=True,
            samesite="Strict",
        )
    return exc
