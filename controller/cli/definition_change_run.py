"""``certmgr definition new|edit|archive|restore|delete|switch|rollback|hold|unhold``: the handlers (parsers in ``definition_cmd``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.base import CommandContext
from certmgr.controller.domain.values import parse_moment
from certmgr.controller.services.acquisition.acme_accounts import find_account
from certmgr.controller.services.acquisition.catalogue import find_product, use_home_catalogue
from certmgr.controller.services.acquisition.current import (
    hold_existing,
    release_hold,
    rollback_current,
    switch_current_to,
)
from certmgr.controller.services.acquisition.definition_changes import (
    DefinitionChanges,
    archive_definition,
    delete_definition,
    edit_definition,
    restore_definition,
)
from certmgr.controller.services.acquisition.definitions import DefinitionSpec, create_definition
from certmgr.controller.views import definition_json
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import ValidationError


async def _new(ctx: CommandContext) -> int:
    a = ctx.args
    use_home_catalogue(ctx.home)
    spec = DefinitionSpec(
        name=a.name,
        common_name=a.cn,
        sans=tuple(a.san),
        key_type=a.key_type,
        issuer_kind=a.issuer,
        organization=a.org,
        organizational_unit=a.ou,
        locality=a.locality,
        state=a.state,
        country=a.country,
        notes=a.notes,
        acme_account_id=(await find_account(await ctx.db(), a.acme_account)).id
        if a.acme_account
        else None,
        renewal_policy={"days_before": a.renew_days_before} if a.renew_days_before else {},
        requirements={k: v for k, v in (("validation", a.validation), ("vendor", a.vendor)) if v},
        product_id=find_product(a.product).id if a.product else None,
    )
    if spec.issuer_kind == "acme" and spec.acme_account_id is None:
        raise ValidationError("issuer acme needs --acme-account NAME", field="acme_account")
    d = await create_definition(await ctx.db(), ctx.actor, spec)
    if a.json:
        ctx.print_json(definition_json(d, None))
    else:
        ctx.print(f"created definition #{d.id} {d.name!r}")
    return 0


def _done(ctx: CommandContext, d: Any, text: str) -> int:
    if ctx.args.json:
        ctx.print_json(definition_json(d, None))
    else:
        ctx.print(text)
    return 0


async def _edit(ctx: CommandContext) -> int:
    a = ctx.args
    use_home_catalogue(ctx.home)
    db = await ctx.db()
    changes = DefinitionChanges(
        name=a.name,
        common_name=a.cn,
        sans=tuple(a.san) if a.san is not None else None,
        key_type=a.key_type,
        issuer_kind=a.issuer,
        organization=a.org,
        organizational_unit=a.ou,
        locality=a.locality,
        state=a.state,
        country=a.country,
        requestor=a.requestor,
        notes=a.notes,
        acme_account_id=(await find_account(db, a.acme_account)).id if a.acme_account else None,
        vendor_account_id=a.vendor_account,
        validation=("" if a.validation == "none" else a.validation),
        vendor=a.vendor,
        product_id=a.product,
        renew_days_before=a.renew_days_before,
        monitoring=None if a.monitoring is None else a.monitoring == "on",
    )
    d = await edit_definition(db, ctx.actor, a.definition, changes, SystemClock())
    return _done(ctx, d, f"definition #{d.id} {d.name!r} changed")


async def _archive(ctx: CommandContext) -> int:
    d = await archive_definition(
        await ctx.db(), ctx.actor, ctx.args.definition, SystemClock(), reason=ctx.args.reason
    )
    return _done(
        ctx, d, f"definition #{d.id} {d.name!r} archived (no renewals, no monitoring; history kept)"
    )


async def _restore(ctx: CommandContext) -> int:
    d = await restore_definition(await ctx.db(), ctx.actor, ctx.args.definition, SystemClock())
    return _done(ctx, d, f"definition #{d.id} {d.name!r} restored")


async def _delete(ctx: CommandContext) -> int:
    name = await delete_definition(await ctx.db(), ctx.actor, ctx.args.definition, SystemClock())
    if ctx.args.json:
        ctx.print_json({"deleted": name})
    else:
        ctx.print(f"definition {name!r} deleted")
    return 0


async def _switch(ctx: CommandContext) -> int:
    d = await switch_current_to(
        await ctx.db(),
        ctx.vault,
        ctx.actor,
        ctx.args.definition,
        ctx.args.certificate,
        SystemClock(),
    )
    return _done(
        ctx, d, f"definition #{d.id} {d.name!r}: certificate #{d.current_certificate_id} is current"
    )


async def _rollback(ctx: CommandContext) -> int:
    d = await rollback_current(
        await ctx.db(), ctx.vault, ctx.actor, ctx.args.definition, SystemClock()
    )
    return _done(
        ctx,
        d,
        f"definition #{d.id} {d.name!r}: rolled back, certificate #{d.current_certificate_id} is current",
    )


async def _hold(ctx: CommandContext) -> int:
    until = parse_moment(ctx.args.until, field="until", label="--until")
    if until is None:
        raise ValidationError("--until is required", field="until")
    d = await hold_existing(
        await ctx.db(), ctx.actor, ctx.args.definition, ctx.args.certificate, until, SystemClock()
    )
    return _done(
        ctx,
        d,
        f"definition #{d.id} {d.name!r}: certificate #{d.held_certificate_id} becomes current at "
        f"{d.switch_at:%Y-%m-%d %H:%M} UTC",
    )


async def _unhold(ctx: CommandContext) -> int:
    d = await release_hold(await ctx.db(), ctx.actor, ctx.args.definition, SystemClock())
    return _done(ctx, d, f"definition #{d.id} {d.name!r}: held switch cancelled")
