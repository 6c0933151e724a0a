"""``certmgr vendor account add|list`` and ``certmgr product list|select``: the handlers (parsers in ``vendor_cmd``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.base import CommandContext, read_secret_file, table
from certmgr.controller.services.acquisition.catalogue import (
    Needs,
    catalogue,
    catalogue_info,
    products_for,
    select_products,
    use_home_catalogue,
)
from certmgr.controller.services.acquisition.vendor_accounts import (
    VendorAccountChanges,
    VendorAccountSpec,
    add_vendor_account,
    delete_vendor_account,
    edit_vendor_account,
    list_vendor_accounts,
)
from certmgr.shared.clock import SystemClock
from certmgr.shared.secret import Secret


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


async def _edit(ctx: CommandContext) -> int:
    a = ctx.args
    pw = read_secret_file(a.password_file)
    changes = VendorAccountChanges(
        name=a.name,
        vendors=tuple(a.vendor) if a.vendor is not None else None,
        login_name=a.login,
        password=Secret(pw.decode().strip()) if pw else None,
        clear_password=a.clear_password,
        registered_email=a.email,
        notes=a.notes,
    )
    row = await edit_vendor_account(
        await ctx.db(), ctx.vault, ctx.actor, a.account, changes, SystemClock()
    )
    ctx.print(f"vendor account {row.name!r} changed")
    return 0


async def _delete(ctx: CommandContext) -> int:
    name = await delete_vendor_account(await ctx.db(), ctx.actor, ctx.args.account, SystemClock())
    ctx.print(f"vendor account {name!r} deleted")
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
    use_home_catalogue(ctx.home)
    products = (
        list(catalogue())
        if a.validation is None
        else select_products(Needs(a.validation, a.wildcard, a.names, a.vendor))
    )
    _print_products(ctx, products)
    if not a.json:
        info = catalogue_info()
        ctx.print(f"catalogue of {info.bundled_date} (bundled with certmgr)")
        if info.local_file:
            ctx.print(
                f"  plus {info.local_products} product(s) from {info.local_file}"
                + (f" of {info.local_date}" if info.local_date else "")
            )
    return 0


async def _select(ctx: CommandContext) -> int:
    use_home_catalogue(ctx.home)
    _print_products(ctx, await products_for(await ctx.db(), ctx.args.definition))
    return 0
