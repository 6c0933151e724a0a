"""``certmgr token create|list|revoke``: API bearer tokens."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.base import CommandContext, add_home, add_json, table
from certmgr.shared.clock import SystemClock


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("token", help="API bearer tokens")
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION")
    tsub.required = True
    q = tsub.add_parser("create", help="create a token for a user (printed once)")
    add_home(q)
    add_json(q)
    q.add_argument("--user", required=True)
    q.add_argument("--name", default="cli")
    q.add_argument(
        "--days",
        type=int,
        default=None,
        help="expire after this many days (default: the settings' lifetime, 90; 0: never)",
    )
    q.set_defaults(handler=_create)
    q = tsub.add_parser("list", help="list tokens with expiry and last use")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=_list)
    q = tsub.add_parser("revoke", help="revoke a token by id")
    add_home(q)
    q.add_argument("id", type=int)
    q.set_defaults(handler=_revoke)


async def _create(ctx: CommandContext) -> int:
    from certmgr.controller.services.auth import check_token_days, create_token

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
    from certmgr.controller.services.auth import list_tokens

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
    from certmgr.controller.services.auth import revoke_token

    await revoke_token(await ctx.db(), ctx.actor, ctx.args.id, SystemClock())
    ctx.print(f"token {ctx.args.id} revoked")
    return 0
