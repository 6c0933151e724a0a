"""``certmgr token create|list|revoke``: API bearer tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from certmgr.controller.cli.base import CommandContext, add_home, add_json, table
from certmgr.controller.db.models import ApiToken, User
from certmgr.controller.services.audit import audit
from certmgr.controller.services.auth import create_token
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import NotFoundError


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
    q.add_argument("--days", type=int, default=None, help="expire after this many days")
    q.set_defaults(handler=_create)
    q = tsub.add_parser("list", help="list tokens")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=_list)
    q = tsub.add_parser("revoke", help="revoke a token by id")
    add_home(q)
    q.add_argument("id", type=int)
    q.set_defaults(handler=_revoke)


async def _create(ctx: CommandContext) -> int:
    a = ctx.args
    row, token = await create_token(
        await ctx.db(), ctx.actor, a.user, a.name, SystemClock(), days=a.days
    )
    if a.json:
        ctx.print_json({"id": row.id, "token": token, "user": a.user})
    else:
        ctx.print(token)
    return 0


async def _list(ctx: CommandContext) -> int:
    db = await ctx.db()
    async with db.reader() as s:
        rows = (
            await s.execute(
                select(ApiToken, User.username)
                .join(User, User.id == ApiToken.user_id)
                .order_by(ApiToken.id)
            )
        ).all()
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "id": t.id,
                    "name": t.name,
                    "prefix": t.prefix,
                    "user": u,
                    "revoked": t.revoked,
                    "expires_at": t.expires_at,
                }
                for t, u in rows
            ]
        )
        return 0
    ctx.print(
        table(
            [(t.id, u, t.name, t.prefix + "…", "revoked" if t.revoked else "") for t, u in rows],
            ["ID", "USER", "NAME", "PREFIX", ""],
        )
    )
    return 0


async def _revoke(ctx: CommandContext) -> int:
    db = await ctx.db()
    async with db.transaction() as s:
        t = await s.get(ApiToken, ctx.args.id)
        if t is None:
            raise NotFoundError(f"no token {ctx.args.id}")
        t.revoked = True
        audit(s, ctx.actor, "token.revoke", "token", t.id, {})
    ctx.print(f"token {ctx.args.id} revoked")
    return 0
