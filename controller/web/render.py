"""Rendering console pages and redirects with one-shot messages."""

from __future__ import annotations

from typing import Any, NamedTuple

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.domain.actors import Role
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.session import FLASH_COOKIE, decode_flash, encode_flash


class NavItem(NamedTuple):
    """One link of the sidebar."""

    href: str
    label: str
    admin_only: bool = False


# Grouped by what a person does; an entry shows only when its screen is registered (screens that
# other work adds, such as /requests or /discovery, appear once their routes exist).
NAV: tuple[tuple[str, tuple[NavItem, ...]], ...] = (
    ("Overview", (NavItem("/dashboard", "Dashboard"),)),
    (
        "Certificates",
        (
            NavItem("/definitions", "Definitions"),
            NavItem("/certificates", "Certificates"),
            NavItem("/keys", "Private keys"),
            NavItem("/import", "Import"),
        ),
    ),
    (
        "Acquisition",
        (
            NavItem("/requests", "Requests"),
            NavItem("/acquisitions", "Processes"),
            NavItem("/acme-accounts", "ACME accounts"),
            NavItem("/vendor-accounts", "Vendor accounts"),
        ),
    ),
    ("Deployment", (NavItem("/deployments", "Deployments"), NavItem("/agents", "Agents"))),
    (
        "Monitoring",
        (
            NavItem("/monitor", "Monitor control"),
            NavItem("/findings", "Findings"),
            NavItem("/readiness", "Readiness"),
            NavItem("/discovery", "Discovery"),
            NavItem("/tasks", "Tasks"),
        ),
    ),
    (
        "Administration",
        (
            NavItem("/users", "Users", True),
            NavItem("/account/tokens", "API tokens"),
            NavItem("/settings", "Settings", True),
            NavItem("/notifications", "Notifications"),
            NavItem("/emails", "Sent e-mails"),
            NavItem("/audit", "Audit log"),
            NavItem("/backups", "Backups", True),
            NavItem("/ca", "Private CA"),
        ),
    ),
)


def navigation(
    app: web.Application, path: str, *, is_admin: bool
) -> list[tuple[str, list[tuple[str, str, bool]]]]:
    """The sidebar: groups of (href, label, current) for the screens registered in ``app``."""
    registered = {
        r.canonical for r in app.router.resources() if "{" not in r.canonical
    }  # a few hundred strings: cheap next to rendering any page
    current = max(
        (
            i.href
            for _, items in NAV
            for i in items
            if path == i.href or path.startswith(i.href + "/")
        ),
        key=len,
        default="",
    )
    groups = []
    for group, items in NAV:
        links = [
            (i.href, i.label, i.href == current)
            for i in items
            if i.href in registered and (is_admin or not i.admin_only)
        ]
        if links:
            groups.append((group, links))
    return groups


def render(
    request: web.Request, template: str, *, status: int = 200, **values: Any
) -> web.Response:
    """Render a template with the common context (user, CSRF token, navigation, flash message)."""
    ctx = ctx_of(request)
    flash = decode_flash(request.app[appkeys.SESSIONS], request.cookies.get(FLASH_COOKIE))
    is_admin = ctx.actor is not None and ctx.actor.role is Role.ADMIN
    nav = navigation(request.app, request.path, is_admin=is_admin)
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
