"""``certmgr vendor account add|list`` and ``certmgr product list|select``."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.base import CommandContext, add_home, add_json, read_secret_file, table
from certmgr.controller.services.catalogue import (
    LEVELS,
    Needs,
    catalogue,
    needs_of,
    select_products,
)
from certmgr.controller.services.definitions import find_definition
from certmgr.controller.services.vendor_accounts import (
    VendorAccountSpec,
    add_vendor_account,
    list_vendor_accounts,
)
from certmgr.shared.clock import SystemClock
from certmgr.shared.secret import Secret


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("vendor", help="commercial CA vendor accounts")
    v = p.add_subparsers(dest="vendor_command", metavar="ACTION")
    v.required = True
    acc = v.add_parser("account", help="vendor accounts").add_subparsers(
        dest="vendor_account_command", metavar="ACTION"
    )
    acc.required = True
    q = acc.add_parser("add", help="store a vendor account (password sealed)")
    add_home(q)
    q.add_argument("name")
    q.add_argument(
        "--vendor", action="append", required=True, help="vendor this login is for (repeatable)"
    )
    q.add_argument("--login", default="")
    q.add_argument("--password-file", default=None)
    q.add_argument("--email", default="")
    q.add_argument("--notes", default="")
    q.set_defaults(handler=_add)
    q = acc.add_parser("list", help="list vendor accounts")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=_list)

    p = sub.add_parser("product", help="the product catalogue")
    pr = p.add_subparsers(dest="product_command", metavar="ACTION")
    pr.required = True
    q = pr.add_parser("list", help="products, optionally filtered")
    add_json(q)
    q.add_argument("--validation", choices=LEVELS, default=None)
    q.add_argument("--wildcard", action="store_true")
    q.add_argument(
        "--names", type=int, default=1, help="how many distinct names the certificate needs"
    )
    q.add_argument("--vendor", default="")
    q.set_defaults(handler=_products)
    q = pr.add_parser("select", help="products suitable for a definition")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION")
    q.set_defaults(handler=_select)


async def _add(ctx: CommandContext) -> int:
    a = ctx.args
    pw = read_secret_file(a.password_file)
    row = await add_vendor_account(
        await ctx.db(),
        ctx.vault,
        ctx.actor,
        VendorAccountSpec(
            a.name, tuple(a.vendor), a.login, Secret(pw.decode()) if pw else None, a.email, a.notes
        ),
        SystemClock(),
    )
    ctx.print(f"vendor account {row.name!r} stored")
    return 0


async def _list(ctx: CommandContext) -> int:
    rows = await list_vendor_accounts(await ctx.db())
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "vendors": r.vendors,
                    "login": r.login_name,
                    "email": r.registered_email,
                    "password_stored": r.sealed_password is not None,
                }
                for r in rows
            ]
        )
        return 0
    ctx.print(
        table(
            [(r.id, r.name, ", ".join(r.vendors), r.login_name, r.registered_email) for r in rows],
            ["ID", "NAME", "VENDORS", "LOGIN", "E-MAIL"],
        )
    )
    return 0


def _print_products(ctx: CommandContext, products: list[Any]) -> None:
    if ctx.args.json:
        ctx.print_json([p.to_json() for p in products])
        return
    ctx.print(
        table(
            [
                (
                    p.id,
                    p.vendor,
                    p.name,
                    p.validation,
                    "yes" if p.wildcard else "",
                    p.max_sans,
                    p.max_validity_days,
                    "yes" if p.acme else "",
                )
                for p in products
            ],
            ["ID", "VENDOR", "PRODUCT", "LEVEL", "WILDCARD", "NAMES", "DAYS", "ACME"],
        )
    )


async def _products(ctx: CommandContext) -> int:
    a = ctx.args
    products = (
        list(catalogue())
        if a.validation is None
        else select_products(Needs(a.validation, a.wildcard, a.names, a.vendor))
    )
    _print_products(ctx, products)
    return 0


async def _select(ctx: CommandContext) -> int:
    db = await ctx.db()
    async with db.reader() as s:
        d = await find_definition(s, ctx.args.definition)
    _print_products(ctx, select_products(needs_of(d)))
    return 0
