"""``certmgr user add|list``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from certmgr.controller.cli.base import CommandContext, add_home, add_json, read_secret_file, table
from certmgr.controller.db.models import User
from certmgr.controller.domain.actors import Role
from certmgr.controller.services.users import add_user, generate_password
from certmgr.shared.errors import InputError


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("user", help="console and API users")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION")
    usub.required = True
    q = usub.add_parser(
        "add", help="add a user (prints a one-time password unless --password-file)"
    )
    add_home(q)
    q.add_argument("username")
    q.add_argument("--role", choices=["admin", "user"], default="user")
    q.add_argument("--email", default="")
    q.add_argument("--password-file", default=None)
    q.set_defaults(handler=_add)
    q = usub.add_parser("list", help="list users")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=_list)


async def _add(ctx: CommandContext) -> int:
    a = ctx.args
    raw = read_secret_file(a.password_file)
    try:
        password = raw.decode() if raw is not None else generate_password()
    except UnicodeDecodeError:
        raise InputError("the password file is not UTF-8 text") from None
    user = await add_user(
        await ctx.db(),
        ctx.actor,
        username=a.username,
        role=Role(a.role),
        password=password,
        must_change_password=raw is None,
        email=a.email,
    )
    ctx.print(f"added user {user.username!r} ({user.role})")
    if raw is None:
        ctx.print(f"one-time password (must be changed at first sign-in): {password}")
    return 0


async def _list(ctx: CommandContext) -> int:
    db = await ctx.db()
    async with db.reader() as s:
        users = (await s.execute(select(User).order_by(User.username))).scalars().all()
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "id": u.id,
                    "username": u.username,
                    "role": u.role,
                    "email": u.email,
                    "disabled": u.disabled,
                }
                for u in users
            ]
        )
        return 0
    ctx.print(
        table(
            [(u.id, u.username, u.role, u.email, "disabled" if u.disabled else "") for u in users],
            ["ID", "USER", "ROLE", "EMAIL", ""],
        )
    )
    return 0
