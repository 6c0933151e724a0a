"""``certmgr init``, ``serve``, ``rotate-master-key`` and ``db upgrade``."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.base import CommandContext, add_home, read_secret_file
from certmgr.controller.home import init_home
from certmgr.controller.services.rotation import rotate_master_key
from certmgr.controller.settings import DEFAULT_LISTEN
from certmgr.shared.errors import InputError


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser(
        "init", help="create a new home folder (config, master key, database, CA, admin user)"
    )
    add_home(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing home (it is moved to a backup first)",
    )
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        help=f"console address HOST:PORT (default {DEFAULT_LISTEN})",
    )
    p.add_argument(
        "--database-url", default=None, help="database URL (default: SQLite file in the home)"
    )
    p.add_argument(
        "--admin-password-file",
        default=None,
        help="read the admin password from this file instead of generating one",
    )
    p.add_argument(
        "--ca-subject",
        default=None,
        help="subject of the private root CA (default: a unique name, "
        '"CN=certmgr Private Root CA <date-time>,O=certmgr")',
    )
    p.add_argument("--ca-key-type", default="ec-p384", help="key type of the private root CA")
    p.set_defaults(handler=_init)

    p = sub.add_parser("serve", help="run the controller (HTTPS console and APIs)")
    add_home(p)
    p.add_argument("--listen", default=None, help="HOST:PORT (default from config.toml)")
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="believe X-Forwarded-For from this proxy address or network (repeatable; default: never)",
    )
    p.set_defaults(handler=_serve)

    p = sub.add_parser(
        "rotate-master-key", help="make a new master key and re-seal every secret with it"
    )
    add_home(p)
    p.add_argument(
        "--drop-old", action="store_true", help="remove the old keys from the key file afterwards"
    )
    p.set_defaults(handler=_rotate)

    p = sub.add_parser("db", help="database maintenance")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    dsub.required = True
    q = dsub.add_parser("upgrade", help="apply pending schema migrations")
    add_home(q)
    q.set_defaults(handler=_db_upgrade)


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
    from certmgr.controller.server import serve

    await serve(ctx.settings, ctx.vault)
    return 0


async def _rotate(ctx: CommandContext) -> int:
    db = await ctx.db()
    n, kid = await rotate_master_key(
        db, ctx.settings.master_key_path, ctx.vault, ctx.actor, drop_old=ctx.args.drop_old
    )
    ctx.print(f"Re-sealed {n} secrets with new master key {kid}")
    return 0


async def _db_upgrade(ctx: CommandContext) -> int:
    from certmgr.controller.db.engine import Database

    db = Database(ctx.settings.database_url)
    try:
        await db.upgrade()
        ctx.print(f"database at revision {await db.current_revision()}")
    finally:
        await db.dispose()
    return 0
