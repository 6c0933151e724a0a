"""Sign in, sign out, change my password."""

from __future__ import annotations

import secrets

from aiohttp import web

from certmgr.controller.services.admin.auth import (
    SignInError,
    SignInThrottledError,
    change_password,
    sign_in,
)
from certmgr.controller.services.admin.sessions import end_session, open_session
from certmgr.controller.services.admin.settings import MAX_TOKEN_DAYS, load_general_settings
from certmgr.controller.services.admin.tokens import create_token, list_tokens, revoke_token
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import FormErrors, checkbox, form_of, integer, text
from certmgr.controller.web.render import redirect, render
from certmgr.controller.web.reveal import hold_and_redirect, take
from certmgr.controller.web.security import clear_session_cookie, safe_next, set_session_cookie
from certmgr.controller.web.session import PRE_COOKIE, SessionData, new_csrf, same_token
from certmgr.shared.errors import ConflictError, ValidationError

routes = web.RouteTableDef()


def _next_target(request: web.Request) -> str:
    return safe_next(request.query.get("next"))


def _login_form(
    request: web.Request,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
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
    resp.headers.update(headers or {})
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
    except SignInThrottledError as err:
        return _login_form(
            request, str(err), status=429, headers={"Retry-After": str(err.retry_after)}
        )
    except (SignInError, ValidationError) as err:
        return _login_form(request, str(err), status=401 if isinstance(err, SignInError) else 422)
    target = "/account/password" if res.must_change_password else _next_target(request)
    resp = web.HTTPSeeOther(target)
    set_session_cookie(request, resp, SessionData(sid=res.session_id, csrf=new_csrf()))
    resp.del_cookie(PRE_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    raise resp


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    """End the session (on the server, not only the cookie)."""
    ctx = ctx_of(request)
    if ctx.session is not None:
        await end_session(ctx.db, ctx.session.sid, ctx.clock)
    resp = web.HTTPSeeOther("/login")
    clear_session_cookie(resp)
    raise resp


def _password_page(
    request: web.Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    *,
    revoke_tokens: bool = True,
) -> web.Response:
    ctx = ctx_of(request)
    return render(
        request,
        "console/password.html",
        title="Change password",
        forced=bool(ctx.user and ctx.user.must_change_password),
        errors=errors or {},
        revoke_tokens=revoke_tokens,
        status=status,
    )


@routes.get("/account/password")
async def password_page(request: web.Request) -> web.Response:
    """Change my password (forced after a one-time password)."""
    return _password_page(request)


@routes.post("/account/password")
async def password_change(request: web.Request) -> web.Response:
    """Apply a password change: every session of the user ends, this one continues in a new one.

    Every wrong field is named beside it at once; no password typed is ever sent back.
    """
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    errors = FormErrors()
    names = ("current_password", "new_password", "new_password_again")
    typed = {name: form.get(name, "") for name in names}
    for name, value in typed.items():
        if not isinstance(value, str):
            errors.add(ValidationError("a password must be text", field=name))
    current, new, again = (str(typed[name]) if not errors else "" for name in names)
    revoke_tokens = checkbox(form, "revoke_tokens")
    if not errors:
        try:
            changed = await change_password(
                ctx.db,
                actor,
                current,
                new,
                ctx.clock,
                revoke_tokens=revoke_tokens,
                repeat=again,
            )
        except ValidationError as err:
            errors.add(err)
        except ConflictError as err:
            errors.add(ValidationError(str(err), field="current_password"))
            return _password_page(request, errors.by_field, status=409, revoke_tokens=revoke_tokens)
        else:
            session_id = await open_session(ctx.db, changed.user.id, ctx.address, ctx.clock)
            message = "Your password was changed; your other sessions were signed out."
            if changed.tokens_revoked:
                message += f" {changed.tokens_revoked} API token(s) revoked."
            exc = redirect(request, "/dashboard", message)
            set_session_cookie(request, exc, SessionData(sid=session_id, csrf=new_csrf()))
            raise exc
    return _password_page(request, errors.by_field, status=422, revoke_tokens=revoke_tokens)


async def _tokens_page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    ctx = ctx_of(request)
    held = await take(request, "tokens") if status == 200 else None
    days = (await load_general_settings(ctx.db)).token_days
    return render(
        request,
        "console/tokens.html",
        title="API tokens",
        tokens=await list_tokens(ctx.db, ctx.require_actor()),
        now=ctx.clock.now(),
        values={"days": str(days), **(values or {})},
        new_token=held["token"] if held else None,
        errors=errors or {},
        status=status,
    )


@routes.get("/account/tokens")
async def tokens_page(request: web.Request) -> web.Response:
    """My API tokens (an admin: everybody's) with expiry and last use; a new one shown once."""
    return await _tokens_page(request)


@routes.post("/account/tokens")
async def token_create(request: web.Request) -> web.Response:
    """Create an API token for myself; it is shown once, on the page this redirects to."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    errors = FormErrors()
    name = errors.read(lambda: text(form, "name", required=True, max_len=100, label="Name"), "")
    days = errors.read(
        lambda: integer(form, "days", lo=0, hi=MAX_TOKEN_DAYS, label="Lifetime in days"), 0
    )
    if not errors:
        try:
            _, token = await create_token(ctx.db, actor, actor.name, name, ctx.clock, days=days)
        except ValidationError as err:
            errors.add(err)
        else:
            raise await hold_and_redirect(
                request,
                "/account/tokens",
                "tokens",
                {"token": token},
                f"API token {name!r} created.",
            )
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    return await _tokens_page(request, errors=errors.by_field, values=values, status=422)


@routes.post("/account/tokens/{id:\\d+}/revoke")
async def token_revoke(request: web.Request) -> web.Response:
    """Revoke an API token (mine; an admin: anyone's)."""
    ctx = ctx_of(request)
    await revoke_token(ctx.db, ctx.require_actor(), int(request.match_info["id"]), ctx.clock)
    raise redirect(request, "/account/tokens", "API token revoked.")
