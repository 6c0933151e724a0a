"""``certmgr init``, ``serve``, ``rotate-master-key`` and ``db upgrade``: the handlers (parsers in ``home_cmd``)."""

from __future__ import annotations

from dataclasses import replace

from certmgr.controller.cli.base import CommandContext, read_secret_file
from certmgr.controller.db.engine import Database
from certmgr.controller.home import init_home
from certmgr.controller.services.admin.rotation import rotate_master_key
from certmgr.shared.errors import InputError


async def _init(ctx: CommandContext) -> int:
    a = ctx.args
    password = read_secret_file(a.admin_password_file, what="admin password")
    if password is not None:
        try:
            pw = password.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the admin password file is not UTF-8 text") from None
    else:
        pw = None
    res = await init_home(
        ctx.home,
        force=a.force,
        listen=a.listen,
        database_url=a.database_url,
        admin_password=pw,
        ca_subject=a.ca_subject,
        ca_key_type=a.ca_key_type,
    )
    ctx.print(f"Created certmgr home {res.home}")
    if res.backup:
        ctx.print(f"The previous home was moved to {res.backup}")
    ctx.print(f"Private CA SHA-256: {res.ca_sha256}")
    ctx.print(f"Console: {res.console_url}")
    if res.admin_password:
        ctx.print("")
        ctx.print(
            "Sign in as 'admin' with this one-time password (shown only now; you must change it at first sign-in):"
        )
        ctx.print(f"    {res.admin_password}")
    return 0


async def _serve(ctx: CommandContext) -> int:
    # lazy: the web server (aiohttp, Jinja2, the whole app) is only for serve, not init
    from certmgr.controller.server import serve

    settings = ctx.settings
    if ctx.args.log_format:
        settings = replace(settings, log_format=ctx.args.log_format)
    await serve(settings, ctx.vault)
    return 0


async def _rotate(ctx: CommandContext) -> int:
    db = await ctx.db()
    n, kid = await rotate_master_key(
        db, ctx.settings.master_key_path, ctx.vault, ctx.actor, drop_old=ctx.args.drop_old
    )
    ctx.print(f"Re-sealed {n} secrets with new master key {kid}")
    return 0


async def _db_upgrade(ctx: CommandContext) -> int:
    db = Database(ctx.settings.database_url)
    try:
        await db.upgrade()
        ctx.print(f"database at revision {await db.current_revision()}")
    finally:
        await db.dispose()
    return 0
