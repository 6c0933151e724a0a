"""API: users (Admin), the signed-in user, changing one's own password."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from certmgr.controller.domain.actors import Role
from certmgr.controller.services.admin.auth import change_password
from certmgr.controller.services.admin.settings import check_email
from certmgr.controller.services.admin.users import (
    add_user,
    delete_user,
    generate_password,
    list_users,
    reset_password,
    update_user,
)
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import ApiRoutes, actor, json_body, ok, path_id, s_field
from certmgr.shared.errors import ValidationError

if TYPE_CHECKING:
    from certmgr.controller.services.admin.users import User

api = ApiRoutes("administration")


def _user_json(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "role": u.role,
        "disabled": u.disabled,
        "must_change_password": u.must_change_password,
        "last_login_at": u.last_login_at,
    }


@api.op("GET", "/me", "The signed-in user", response=sc.USER)
async def me(request: web.Request) -> web.Response:
    """Who am I."""
    ctx, _ = actor(request)
    assert ctx.user is not None  # noqa: S101 - actor implies user
    return ok(_user_json(ctx.user))


@api.op("GET", "/users", "List users (Admin)", response=sc.array(sc.USER), admin=True)
async def users(request: web.Request) -> web.Response:
    """All users."""
    ctx, _ = actor(request)
    return ok([_user_json(u) for u in await list_users(ctx.db)])


@api.op(
    "POST",
    "/users",
    "Add a user (Admin); without password a one-time password is returned",
    request=sc.USER_NEW,
    response=sc.obj({"user": sc.USER, "one_time_password": sc.string(nullable=True)}),
    status=201,
    admin=True,
    extra_responses=(409,),
)
async def user_add(request: web.Request) -> web.Response:
    """Add a user."""
    ctx, who = actor(request)
    body = await json_body(request)
    role = s_field(body, "role", default="user", max_len=10)
    if role not in ("admin", "user"):
        raise ValidationError("role must be admin or user", field="role")
    given = body.get("password")
    if given is not None and not isinstance(given, str):
        raise ValidationError("password must be a string", field="password")
    password = given or generate_password()
    u = await add_user(
        ctx.db,
        who,
        username=s_field(body, "username", required=True, max_len=100),
        role=Role(role),
        password=password,
        must_change_password=given is None,
        email=check_email(s_field(body, "email", max_len=254), "email"),
        clock=ctx.clock,
    )
    return ok({"user": _user_json(u), "one_time_password": None if given else password}, status=201)


@api.op(
    "PATCH",
    "/users/{id}",
    "Change e-mail, role or disabled (Admin)",
    request=sc.USER_PATCH,
    response=sc.USER,
    params=(sc.ID,),
    admin=True,
    extra_responses=(409,),
)
async def user_patch(request: web.Request) -> web.Response:
    """Update a user."""
    ctx, who = actor(request)
    body = await json_body(request)
    role = body.get("role")
    if role is not None and role not in ("admin", "user"):
        raise ValidationError("role must be admin or user", field="role")
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ValidationError("disabled must be true or false", field="disabled")
    email = body.get("email")
    if email is not None and not isinstance(email, str):
        raise ValidationError("email must be a string", field="email")
    u = await update_user(
        ctx.db,
        who,
        path_id(request),
        email=email,
        role=Role(role) if role else None,
        disabled=disabled,
        clock=ctx.clock,
    )
    return ok(_user_json(u))


@api.op(
    "DELETE",
    "/users/{id}",
    "Delete a user (Admin)",
    params=(sc.ID,),
    status=204,
    admin=True,
    extra_responses=(409,),
)
async def user_delete(request: web.Request) -> web.Response:
    """Delete."""
    ctx, who = actor(request)
    await delete_user(ctx.db, who, path_id(request), clock=ctx.clock)
    return web.Response(status=204)


@api.op(
    "POST",
    "/users/{id}/reset-password",
    "New one-time password (Admin)",
    params=(sc.ID,),
    response=sc.obj({"one_time_password": sc.string()}),
    admin=True,
)
async def user_reset(request: web.Request) -> web.Response:
    """Reset a password."""
    ctx, who = actor(request)
    _, password = await reset_password(ctx.db, who, path_id(request), clock=ctx.clock)
    return ok({"one_time_password": password})


@api.op(
    "POST",
    "/users/me/password",
    "Change my password; my console sessions end and, unless revoke_tokens is false, my API tokens",
    request=sc.obj(
        {
            "current_password": sc.string(max_len=1024),
            "new_password": sc.string(max_len=1024),
            "revoke_tokens": sc.boolean(),
        },
        ["current_password", "new_password"],
    ),
    response=sc.obj({"tokens_revoked": sc.integer()}),
    extra_responses=(409,),
)
async def my_password(request: web.Request) -> web.Response:
    """Change the caller's own password."""
    ctx, who = actor(request)
    body = await json_body(request)
    revoke_tokens = body.get("revoke_tokens", True)
    if not isinstance(revoke_tokens, bool):
        raise ValidationError("revoke_tokens must be true or false", field="revoke_tokens")
    changed = await change_password(
        ctx.db,
        who,
        s_field(body, "current_password", required=True, max_len=1024),
        s_field(body, "new_password", required=True, max_len=1024),
        ctx.clock,
        revoke_tokens=revoke_tokens,
    )
    return ok({"tokens_revoked": changed.tokens_revoked})
