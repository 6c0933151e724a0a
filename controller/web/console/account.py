"""Sign in, sign out, change my password."""

from __future__ import annotations

import secrets
import time

from aiohttp import web

from certmgr.controller.services.auth import SignInError, change_password, sign_in
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import form_of, text
from certmgr.controller.web.render import redirect, render
from certmgr.controller.web.security import clear_session_cookie, set_session_cookie
from certmgr.controller.web.session import PRE_COOKIE, SessionData, new_csrf, same_token
from certmgr.shared.errors import ValidationError

routes = web.RouteTableDef()


def _next_target(request: web.Request) -> str:
    nxt = request.query.get("next", "/dashboard")
    return (
        nxt
        if nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt
        else "/dashboard"
    )


def _login_form(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    resp = render(
        request,
        "login.html",
        title="Sign in",
        error=error,
        csrf=token,
        next=_next_target(request),
        status=status,
    )
    resp.set_cookie(PRE_COOKIE, token, path="/", secure=True, httponly=True, samesite="Strict")
    return resp


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    """The sign-in form (already signed in: go to the dashboard)."""
    if ctx_of(request).actor is not None:
        raise web.HTTPSeeOther(_next_target(request))
    return _login_form(request)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    """Check the password (rate-limited) and start a session."""
    ctx = ctx_of(request)
    form = await form_of(request)
    token = form.get("csrf")
    if not same_token(token if isinstance(token, str) else None, request.cookies.get(PRE_COOKIE)):
        return _login_form(request, "The sign-in form expired. Please try again.", status=403)
    try:
        username = text(form, "username", required=True, max_len=100, label="User name")
        password = form.get("password", "")
        if not isinstance(password, str) or not password:
            raise ValidationError("Password is required", field="password")
        res = await sign_in(ctx.db, username, password, ctx.address, ctx.clock)
    except (SignInError, ValidationError) as err:
        return _login_form(request, str(err), status=401 if isinstance(err, SignInError) else 422)
    now = time.time()
    pw_at = res.user.password_changed_at.timestamp() if res.user.password_changed_at else 0.0
    data = SessionData(uid=res.user.id, created=now, seen=now, csrf=new_csrf(), pw_at=pw_at)
    target = "/account/password" if res.must_change_password else _next_target(request)
    resp = web.HTTPSeeOther(target)
    set_session_cookie(request, resp, data)
    resp.del_cookie(PRE_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    raise resp


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    """End the session."""
    resp = web.HTTPSeeOther("/login")
    clear_session_cookie(resp)
    raise resp


@routes.get("/account/password")
async def password_page(request: web.Request) -> web.Response:
    """Change my password (forced after a one-time password)."""
    ctx = ctx_of(request)
    return render(
        request,
        "console/password.html",
        title="Change password",
        forced=bool(ctx.user and ctx.user.must_change_password),
        error=None,
        field=None,
    )


@routes.post("/account/password")
async def password_change(request: web.Request) -> web.Response:
    """Apply a password change and renew the session."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    current = form.get("current_password", "")
    new = form.get("new_password", "")
    again = form.get("new_password_again", "")
    try:
        if not all(isinstance(v, str) for v in (current, new, again)):
            raise ValidationError("passwords must be text", field="new_password")
        if new != again:
            raise ValidationError("the two new passwords differ", field="new_password_again")
        user = await change_password(ctx.db, actor, str(current), str(new), ctx.clock)
    except ValidationError as err:
        return render(
            request,
            "console/password.html",
            title="Change password",
            forced=bool(ctx.user and ctx.user.must_change_password),
            error=str(err),
            field=err.field,
            status=422,
        )
    now = time.time()
    assert user.password_changed_at is not None  # noqa: S101 - just set
    data = SessionData(
        uid=user.id,
        created=now,
        seen=now,
        csrf=new_csrf(),
        pw_at=user.password_changed_at.timestamp(),
    )
    exc = redirect(request, "/dashboard", "Your password was changed.")
    set_session_cookie(request, exc, data)
    raise exc
