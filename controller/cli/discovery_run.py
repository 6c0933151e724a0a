"""``certmgr discovery ...`` and ``certmgr import --from-server``: the handlers (parsers in ``discovery_cmd``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from certmgr.controller.cli.base import CommandContext, table
from certmgr.controller.scheduler.runner import default_holder
from certmgr.controller.services.monitoring.discovery_config import (
    discovery_config_from,
    load_discovery_config,
    save_discovery_config,
)
from certmgr.controller.services.monitoring.discovery_import import (
    Imported,
    import_from_server,
    import_results,
)
from certmgr.controller.services.monitoring.discovery_scans import (
    claim_scan,
    parse_starttls,
    run_scan,
    scan_json,
    start_scan,
)
from certmgr.controller.services.monitoring.discovery_views import (
    endpoints,
    get_scan,
    list_scans,
    results_csv,
    scan_report,
)
from certmgr.controller.settings import parse_hostport
from certmgr.shared.clock import SystemClock
from certmgr.shared.discovery import read_target_file
from certmgr.shared.errors import ConfigurationError, ConflictError, InputError, ValidationError
from certmgr.shared.text import escape_text


async def _scan(ctx: CommandContext) -> int:
    a = ctx.args
    tokens = list(a.targets)
    for f in a.file:
        tokens += read_target_file(Path(f))
    if not tokens:
        raise InputError("name what to scan: targets, or --file with one target a line")
    db = await ctx.db()
    clock = SystemClock()
    row = await start_scan(
        db,
        ctx.actor,
        clock,
        targets="\n".join(tokens),
        ports=a.ports,
        confirm_large=a.confirm_large,
        precheck=a.precheck,
        starttls=parse_starttls(a.starttls),
    )
    if a.queue:
        if a.json:
            ctx.print_json(scan_json(row))
        else:
            ctx.print(f"scan #{row.id} queued ({row.pairs} address:port pairs)")
        return 0
    holder = default_holder()
    if await claim_scan(db, holder, clock.now(), scan_id=row.id) is None:
        raise ConflictError(f"scan #{row.id} was taken by a running controller; see 'list'")
    bar = ctx.progress(row.pairs, "scanning")

    async def progress(data: dict[str, Any]) -> None:
        if bar is not None:
            bar(min(int(data.get("done", 0)), row.pairs))

    summary = await run_scan(db, clock, row.id, holder, progress=progress)
    if a.json:
        ctx.print_json(scan_json(await get_scan(db, row.id)))
    else:
        ctx.print(
            f"scan #{row.id} {summary.state} in {summary.seconds:.1f} s: {summary.probed} "
            f"probed, {summary.open_endpoints} TLS endpoints, {summary.certificates} "
            f"certificates; {summary.critical} critical, {summary.warning} warning, "
            f"{summary.unknown} unknown to certmgr"
        )
        if summary.error:
            ctx.print(f"error: {summary.error}")
        ctx.print(f"results: certmgr discovery show {row.id}")
    return 0 if summary.state == "done" else 1


async def _list(ctx: CommandContext) -> int:
    rows = [scan_json(r) for r in await list_scans(await ctx.db(), limit=ctx.args.limit)]
    if ctx.args.json:
        ctx.print_json(rows)
        return 0
    if not rows:
        ctx.print("no discovery scans yet")
        return 0
    ctx.print(
        table(
            [
                (
                    r["id"],
                    r["state"],
                    r["created_at"][:16],
                    r["created_by"],
                    r["pairs"],
                    r["open_endpoints"],
                    r["critical"],
                    r["warning"],
                    r["unknown"],
                    r["targets"].replace("\n", " ")[:40],
                )
                for r in rows
            ],
            [
                "#",
                "state",
                "created (UTC)",
                "by",
                "pairs",
                "tls",
                "crit",
                "warn",
                "unknown",
                "targets",
            ],
        )
    )
    return 0


async def _show(ctx: CommandContext) -> int:
    a = ctx.args
    db = await ctx.db()
    scan = await get_scan(db, a.scan)
    rows = await endpoints(
        db, a.scan, verdict=a.verdict, match=a.match, rule=a.rule, tls_only=not a.all
    )
    if a.json:
        ctx.print_json({"scan": scan_json(scan), "results": [r.to_json() for r in rows]})
        return 0
    s = scan_json(scan)
    ctx.print(
        f"scan #{s['id']} ({s['state']}): {s['probed']}/{s['pairs']} probed, "
        f"{s['open_endpoints']} TLS endpoints"
    )
    if not rows:
        ctx.print("no results match")
        return 0
    ctx.print(
        table(
            [
                (
                    r.endpoint.id,
                    _where(r.endpoint.address or r.endpoint.target, r.endpoint.port),
                    r.endpoint.sni,
                    r.endpoint.outcome,
                    r.certificate.common_name if r.certificate else "",
                    r.endpoint.verdict,
                    ",".join(r.rules),
                    r.endpoint.match,
                )
                for r in rows
            ],
            ["result", "endpoint", "sni", "outcome", "certificate", "verdict", "rules", "match"],
        )
    )
    return 0


def _where(host: str, port: int | None) -> str:
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _print_imported(ctx: CommandContext, done: list[Imported]) -> None:
    if ctx.args.json:
        ctx.print_json([d.to_json() for d in done])
        return
    for d in done:
        what = "imported" if d.created_certificate else "already known"
        dep = "added" if d.created_deployment else "exists"
        ctx.print(
            f"{d.where}: certificate {what} (definition #{d.definition_id} "
            f"'{escape_text(d.definition_name)}'), monitoring-only deployment #{d.deployment_id} {dep}"
        )


async def _import(ctx: CommandContext) -> int:
    a = ctx.args
    db = await ctx.db()
    ids = list(a.results)
    if a.scan is not None:
        ids += [r.endpoint.id for r in await endpoints(db, a.scan, match=a.match, tls_only=True)]
    if not ids:
        raise InputError("nothing to import: name result ids, or --scan N (with --match)")
    done = await import_results(db, ctx.vault, ctx.actor, SystemClock(), ids)
    _print_imported(ctx, done)
    return 0


async def _report(ctx: CommandContext) -> int:
    a = ctx.args
    report = await scan_report(await ctx.db(), a.scan)
    if a.csv:
        ctx.out.write(results_csv(report.results))
        return 0
    if a.json:
        ctx.print_json(report.to_json())
        return 0
    s = scan_json(report.scan)
    ctx.print(f"Discovery scan #{s['id']} by {s['created_by']}, {s['state']}")
    ctx.print(f"targets: {' '.join(s['targets'].split())}; ports: {s['ports'] or 'default'}")
    ctx.print(f"started {s['started_at']}, finished {s['finished_at']}")
    ctx.print(
        f"{s['pairs']} pairs, {s['open_endpoints']} TLS endpoints, {s['certificates']} certificates"
    )
    for title, counts in (
        ("verdict", report.by_verdict),
        ("match", report.by_match),
        ("outcome", report.by_outcome),
        ("rule broken", report.by_rule),
    ):
        if counts:
            ctx.print(f"by {title}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


async def _settings(ctx: CommandContext) -> int:
    a = ctx.args
    db = await ctx.db()
    cfg = await load_discovery_config(db)
    change: dict[str, Any] = {}
    if a.scope is not None:
        change["scope"] = a.scope
    if a.size_limit is not None:
        change["size_limit"] = a.size_limit
    if a.schedule_targets is not None:
        change["schedule_targets"] = a.schedule_targets
    if a.schedule_ports is not None:
        change["schedule_ports"] = a.schedule_ports
    if a.schedule_time is not None:
        change["schedule_time"] = a.schedule_time
    if a.schedule is not None:
        change["schedule_enabled"] = a.schedule == "on"
    if change:
        cfg = await save_discovery_config(
            db, ctx.actor, discovery_config_from(change, cfg), SystemClock()
        )
    data = cfg.to_json()
    if a.json:
        ctx.print_json(data)
        return 0
    for key in ("scope", "size_limit", "schedule_enabled", "schedule_targets", "schedule_ports"):
        value = data[key]
        ctx.print(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    ctx.print(f"schedule_time: {data['schedule_time']} UTC")
    return 0


async def import_server(ctx: CommandContext) -> int:
    """``certmgr import --from-server HOST[:PORT] [--sni NAME] [--starttls PROTO]``."""
    a = ctx.args
    if a.files:
        raise InputError("--from-server imports from a server: name no files with it")
    try:
        host, port = parse_hostport(a.from_server, default_port=443)
    except ConfigurationError as err:
        raise ValidationError(str(err), field="from_server") from err
    db = await ctx.db()
    done = await import_from_server(
        db, ctx.vault, ctx.actor, SystemClock(), host, port, sni=a.sni, starttls=a.starttls
    )
    _print_imported(ctx, [done])
    return 0
