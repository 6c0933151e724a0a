"""API: API tokens (one's own; Admin: anyone's)."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller.services.admin.settings import MAX_TOKEN_DAYS
from certmgr.controller.services.admin.tokens import (
    check_token_days,
    create_token,
    list_tokens,
    revoke_token,
)
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import ApiRoutes, actor, json_body, ok, path_id, s_field

api = ApiRoutes("administration")


@api.op(
    "POST",
    "/tokens",
    "Create an API token (for yourself; Admin: for anyone); days: lifetime, 0 never expires, "
    "default from the settings (90)",
    request=sc.obj(
        {
            "name": sc.string(max_len=100),
            "user": sc.string(max_len=100),
            "days": {"type": "integer", "minimum": 0, "maximum": MAX_TOKEN_DAYS},
        }
    ),
    response=sc.obj(
        {"token": sc.string(), "id": sc.integer(), "expires_at": sc.string(nullable=True)}
    ),
    status=201,
)
async def token_create(request: web.Request) -> web.Response:
    """The token text is returned once."""
    ctx, who = actor(request)
    body = await json_body(request)
    days = body.get("days")
    row, token = await create_token(
        ctx.db,
        who,
        s_field(body, "user", max_len=100) or who.name,
        s_field(body, "name", max_len=100) or "api",
        ctx.clock,
        days=None if days is None else check_token_days(days),
    )
    return ok({"id": row.id, "token": token, "expires_at": row.expires_at}, status=201)


@api.op("GET", "/tokens", "List API tokens (yours; Admin: all)", response=sc.array(sc.TOKEN))
async def tokens(request: web.Request) -> web.Response:
    """Token metadata with expiry and last use (never the token)."""
    ctx, who = actor(request)
    now = ctx.clock.now()
    return ok([t.to_dict(now) for t in await list_tokens(ctx.db, who)])


@api.op("DELETE", "/tokens/{id}", "Revoke an API token", params=(sc.ID,), status=204)
async def token_revoke(request: web.Request) -> web.Response:
    """Revoke."""
    ctx, who = actor(request)
    await revoke_token(ctx.db, who, path_id(request), ctx.clock)
    return web.Response(status=204)
