"""``certmgr definition list|show``: the read-only handlers (parsers in ``definition_cmd``).

They load no issuer and no cryptography: listing starts at once (``bench cli``).
"""

from __future__ import annotations

from certmgr.controller.cli.base import CommandContext, table
from certmgr.controller.services.acquisition.definition_detail import (
    definition_detail,
    list_definitions,
)
from certmgr.controller.views import certificate_json, definition_json


async def _list(ctx: CommandContext) -> int:
    items = await list_definitions(await ctx.db(), limit=100000, include_archived=ctx.args.all)
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
    data["history"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
        for e in view.history
    ]
    if ctx.args.json:
        ctx.print_json(data)
        return 0
    ctx.print(f"Definition #{d.id}: {d.name}")
    ctx.print(f"  common name  {d.common_name}")
    ctx.print(f"  SANs         {', '.join(d.sans)}")
    ctx.print(f"  key type     {d.key_type}")
    ctx.print(f"  issuer       {d.issuer_kind}")
    req = data["requirements"]
    ctx.print(f"  validation   {req['validation'] or '-'}")
    ctx.print(f"  vendor       {req['vendor'] or '-'}")
    ctx.print(f"  product      {req['product'] or '-'}")
    days = (d.renewal_policy or {}).get("days_before")
    ctx.print(
        f"  renewal      {f'{days} days before expiry' if days else 'when a third of the lifetime remains'}"
    )
    if d.archived:
        ctx.print("  archived     yes (no renewals, no monitoring)")
    if current:
        ctx.print(
            f"  current      #{current.id} expires {current.not_after:%Y-%m-%d %H:%M} UTC  sha256 {current.sha256}"
        )
    else:
        ctx.print("  current      (none)")
    if d.held_certificate_id and d.switch_at:
        ctx.print(
            f"  held         #{d.held_certificate_id} becomes current at {d.switch_at:%Y-%m-%d %H:%M} UTC"
        )
    ctx.print(f"  certificates {len(certs)}, requests {len(reqs)}, deployments {len(deps)}")
    for c in certs:
        mark = (
            "current"
            if c.id == d.current_certificate_id
            else "held"
            if c.id == d.held_certificate_id
            else ""
        )
        ctx.print(
            f"    #{c.id:<5} valid {c.not_before:%Y-%m-%d} to {c.not_after:%Y-%m-%d}  {c.sha256[:16]}  {mark}".rstrip()
        )
    return 0
