"""``certmgr definition clone|change-issuer``: bulk handlers (parsers in ``definition_cmd``).

Kept apart from ``definition_run`` so that ``definition list`` does not load the issuers.
"""

from __future__ import annotations

from certmgr.controller.cli.base import CommandContext, table
from certmgr.controller.services.acquisition.acme_accounts import find_account
from certmgr.controller.services.acquisition.acme_runtime import http01_responder
from certmgr.controller.services.acquisition.bulk import (
    IssuerChange,
    change_issuer,
    clone_definitions,
    definitions_by_name_prefix,
)
from certmgr.controller.services.acquisition.catalogue import find_product
from certmgr.controller.services.acquisition.requests import IssuerEnv
from certmgr.controller.views import definition_json
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import ValidationError


async def _ids(ctx: CommandContext, refs: list[str], prefix: str | None) -> list[str | int]:
    out: list[str | int] = list(refs)
    if prefix:
        out.extend(await definitions_by_name_prefix(await ctx.db(), prefix))
    if not out:
        raise ValidationError("name definitions, or --prefix", field="definitions")
    return out


async def _clone(ctx: CommandContext) -> int:
    a = ctx.args
    pairs = []
    for m in a.map:
        if "=" not in m:
            raise ValidationError(f"--map {m!r} is not OLD=NEW", field="map")
        old, new = m.split("=", 1)
        pairs.append((old.strip(), new.strip()))
    made = await clone_definitions(
        await ctx.db(),
        ctx.actor,
        await _ids(ctx, a.definitions, a.prefix),
        SystemClock(),
        name_suffix=a.suffix,
        domain_map=pairs,
        issuer_kind=a.issuer,
    )
    if a.json:
        ctx.print_json([definition_json(d, None) for d in made])
    else:
        for d in made:
            ctx.print(f"created definition #{d.id} {d.name!r} ({', '.join(d.sans)})")
    return 0


async def _change_issuer(ctx: CommandContext) -> int:
    a = ctx.args
    db = await ctx.db()
    acme_id = (await find_account(db, a.acme_account)).id if a.acme_account else None
    change = IssuerChange(
        a.issuer, find_product(a.product).id if a.product else None, a.vendor_account, acme_id
    )
    async with http01_responder(ctx.settings, db) as solver:
        env = IssuerEnv(ctx.settings.ca_dir, ctx.settings.effective_crl_url, solver)
        results = await change_issuer(
            db,
            ctx.vault,
            ctx.actor,
            await _ids(ctx, a.definitions, a.prefix),
            change,
            SystemClock(),
            renew=a.renew,
            env=env,
        )
    if a.json:
        ctx.print_json([r.__dict__ for r in results])
    else:
        ctx.print(
            table(
                [(r.definition_id, r.request_id or "-", r.status, r.error[:80]) for r in results],
                ["DEF", "REQUEST", "STATUS", "ERROR"],
            )
        )
    return 0 if all(r.status in ("changed", "done", "key-and-csr") for r in results) else 10
