"""Every console screen is reachable from the sidebar (or from a page the sidebar leads to)."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller.app import CONSOLE_ROUTES
from certmgr.controller.web.render import NAV, navigation

# Screens without a sidebar entry and where they are reached from.
REACHED_OTHERWISE = {
    "/": "redirects to the dashboard",
    "/login": "sign-in",
    "/account/password": "the user name in the header",
    "/definitions/new": "the Definitions list",
    "/ca/installer": "the Private CA page (download)",
    "/metrics": "Prometheus, not a screen",
}


def _app() -> web.Application:
    app = web.Application()
    for routes in CONSOLE_ROUTES:
        app.router.add_routes(routes)
    return app


def _screens(app: web.Application) -> set[str]:
    """Console GET routes without path parameters."""
    found = set()
    for resource in app.router.resources():
        path = resource.canonical
        if "{" in path or path.startswith(("/api/", "/static")):
            continue
        if any(r.method == "GET" for r in resource):
            found.add(path)
    return found


def test_every_screen_is_in_the_sidebar_or_reached_from_a_page() -> None:
    app = _app()
    in_nav = {i.href for _, items in NAV for i in items}
    missing = sorted(_screens(app) - in_nav - set(REACHED_OTHERWISE))
    assert not missing, f"add these screens to the sidebar (render.NAV): {missing}"
    assert {"/notifications", "/readiness", "/acme-accounts", "/account/tokens"} <= in_nav


def test_the_sidebar_shows_only_registered_screens_and_admin_ones_to_admins() -> None:
    app = _app()
    admin = {href for _, links in navigation(app, "/", is_admin=True) for href, _, _ in links}
    user = {href for _, links in navigation(app, "/", is_admin=False) for href, _, _ in links}
    assert admin <= _screens(app)
    assert "/users" in admin and "/settings" in admin
    assert "/users" not in user and "/settings" not in user
    assert "/definitions" in user


def test_the_current_page_is_marked_by_its_longest_entry() -> None:
    app = _app()
    groups = navigation(app, "/definitions/12/deployments/new", is_admin=True)
    current = [href for _, links in groups for href, _, on in links if on]
    assert current == ["/definitions"]
    groups = navigation(app, "/account/tokens", is_admin=True)
    assert [href for _, links in groups for href, _, on in links if on] == ["/account/tokens"]


def test_nav_groups_follow_the_tasks() -> None:
    assert [g for g, _ in NAV] == [
        "Overview",
        "Certificates",
        "Acquisition",
        "Deployment",
        "Monitoring",
        "Administration",
    ]
