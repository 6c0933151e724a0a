"""``certmgr user add|list``: the handlers (parsers in ``user_cmd``)."""

from __future__ import annotations

from certmgr.controller.cli.base import CommandContext, read_secret_file, table
from certmgr.controller.domain.actors import Role
from certmgr.controller.services.admin.users import add_user, generate_password, list_users
from certmgr.shared.errors import InputError


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
    users = await list_users(await ctx.db())
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
