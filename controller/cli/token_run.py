"""``certmgr token create|list|revoke``: API bearer tokens: the handlers (parsers in ``token_cmd``)."""

from __future__ import annotations

from certmgr.controller.cli.base import CommandContext, table
from certmgr.controller.services.admin.tokens import (
    check_token_days,
    create_token,
    list_tokens,
    revoke_token,
)
from certmgr.shared.clock import SystemClock


async def _create(ctx: CommandContext) -> int:
    a = ctx.args
    days = None if a.days is None else check_token_days(a.days)
    row, token = await create_token(
        await ctx.db(), ctx.actor, a.user, a.name, SystemClock(), days=days
    )
    if a.json:
        ctx.print_json({"id": row.id, "token": token, "user": a.user, "expires_at": row.expires_at})
    else:
        ctx.print(token)
    return 0


async def _list(ctx: CommandContext) -> int:
    now = SystemClock().now()
    rows = await list_tokens(await ctx.db(), ctx.actor)
    if ctx.args.json:
        ctx.print_json([t.to_dict(now) for t in rows])
        return 0

    def state(revoked: bool, expired: bool) -> str:
        return "revoked" if revoked else "expired" if expired else ""

    def when(value: object) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"

    ctx.print(
        table(
            [
                (
                    t.id,
                    t.user,
                    t.name,
                    t.prefix + "…",
                    when(t.expires_at) if t.expires_at else "never",
                    when(t.last_used_at),
                    state(t.revoked, t.expired(now)),
                )
                for t in rows
            ],
            ["ID", "USER", "NAME", "PREFIX", "EXPIRES", "LAST USED", ""],
        )
    )
    return 0


async def _revoke(ctx: CommandContext) -> int:
    await revoke_token(await ctx.db(), ctx.actor, ctx.args.id, SystemClock())
    ctx.print(f"token {ctx.args.id} revoked")
    return 0
