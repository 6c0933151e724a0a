"""``certmgr definition new|list|show``: the handlers (parsers in ``definition_cmd``)."""

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
from certmgr.controller.services.acquisition.definition_detail import definition_detail
from certmgr.controller.services.acquisition.definitions import (
    DefinitionSpec,
    create_definition,
    list_definitions,
)
from certmgr.controller.services.acquisition.requests import IssuerEnv
from certmgr.controller.views import certificate_json, definition_json
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import ValidationError


async def _new(ctx: CommandContext) -> int:
    a = ctx.args
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


async def _list(ctx: CommandContext) -> int:
    items = await list_definitions(await ctx.db(), limit=100000)
    if ctx.args.json:
        ctx.print_json([definition_json(i.definition, i.current) for i in items])
        return 0
    rows = [
        (
            i.definition.id,
            i.definition.name,
            i.definition.common_name,
            i.definition.issuer_kind,
            i.current.not_after.strftime("%Y-%m-%d") if i.current else "-",
            i.current.sha256[:16] if i.current else "-",
        )
        for i in items
    ]
    ctx.print(table(rows, ["ID", "NAME", "CN", "ISSUER", "EXPIRES", "SHA-256"]))
    return 0


async def _show(ctx: CommandContext) -> int:
    view = await definition_detail(await ctx.db(), ctx.args.definition)
    d, certs, reqs, deps = view.definition, view.certificates, view.requests, view.deployments
    current = view.current
    data = definition_json(d, current)
    data["certificates"] = [certificate_json(c) for c in certs]
    data["requests"] = [{"id": r.id, "kind": r.kind, "status": r.status} for r in reqs]
    data["deployments"] = [{"id": x.id, "server": x.server_name, "status": x.status} for x in deps]
    if ctx.args.json:
        ctx.print_json(data)
        return 0
    ctx.print(f"Definition #{d.id}: {d.name}")
    ctx.print(f"  common name  {d.common_name}")
    ctx.print(f"  SANs         {', '.join(d.sans)}")
    ctx.print(f"  key type     {d.key_type}")
    ctx.print(f"  issuer       {d.issuer_kind}")
    if current:
        ctx.print(
            f"  current      #{current.id} expires {current.not_after:%Y-%m-%d %H:%M} UTC  sha256 {current.sha256}"
        )
    else:
        ctx.print("  current      (none)")
    ctx.print(f"  certificates {len(certs)}, requests {len(reqs)}, deployments {len(deps)}")
    return 0


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
