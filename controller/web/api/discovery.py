"""API: discovery scans (start, list, progress, results, report, CSV), import, settings and policy."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.scheduler.jobs import DISCOVERY
from certmgr.controller.services.monitoring.discovery_config import (
    discovery_config_from,
    load_discovery_config,
    save_discovery_config,
)
from certmgr.controller.services.monitoring.discovery_import import (
    import_from_server,
    import_results,
)
from certmgr.controller.services.monitoring.discovery_match import MATCHES
from certmgr.controller.services.monitoring.discovery_scans import (
    cancel_scan,
    parse_starttls,
    scan_json,
    start_scan,
)
from certmgr.controller.services.monitoring.discovery_views import (
    OUTCOMES,
    VERDICTS,
    endpoints,
    get_scan,
    list_scans,
    results_csv,
    scan_report,
)
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    bool_field,
    int_param,
    json_body,
    ok,
    path_id,
    s_field,
)
from certmgr.shared.errors import ValidationError
from certmgr.shared.tlsprobe import STARTTLS_PROTOCOLS

api = ApiRoutes("discovery")
MAX_TARGETS_TEXT = 4 * 1024 * 1024

SCAN = sc.obj(
    {
        "id": sc.integer(),
        "created_by": sc.string(),
        "source": sc.string(),
        "scheduled": sc.boolean(),
        "targets": sc.string(),
        "ports": sc.string(),
        "state": sc.string(),
        "pairs": sc.integer(),
        "probed": sc.integer(),
        "open_endpoints": sc.integer(),
        "certificates": sc.integer(),
        "critical": sc.integer(),
        "warning": sc.integer(),
        "unknown": sc.integer(),
        "error": sc.string(),
        "created_at": sc.string(fmt="date-time"),
        "started_at": sc.string(fmt="date-time", nullable=True),
        "finished_at": sc.string(fmt="date-time", nullable=True),
    },
    ["id", "state"],
)
VIOLATION = sc.obj(
    {
        "rule": sc.string(),
        "severity": sc.string(),
        "message": sc.string(),
        "subject": sc.string(nullable=True),
    },
    ["rule", "severity"],
)
RESULT = sc.obj(
    {
        "id": sc.integer(),
        "scan": sc.integer(),
        "source": sc.string(),
        "target": sc.string(),
        "address": sc.string(nullable=True),
        "port": sc.integer(nullable=True),
        "sni": sc.string(),
        "starttls": sc.string(),
        "outcome": sc.string(),
        "message": sc.string(),
        "protocol": sc.string(),
        "cipher": sc.string(),
        "handshake_ms": {"type": ["number", "null"]},
        "sha256": sc.string(),
        "subject": sc.string(),
        "common_name": sc.string(),
        "issuer": sc.string(),
        "not_after": sc.string(fmt="date-time", nullable=True),
        "verdict": sc.string(),
        "violations": sc.array(VIOLATION),
        "match": sc.string(),
        "definition_id": sc.integer(nullable=True),
        "deployment_id": sc.integer(nullable=True),
    },
    ["id", "outcome"],
)
IMPORTED = sc.obj(
    {
        "endpoint_id": sc.integer(nullable=True),
        "where": sc.string(),
        "sha256": sc.string(),
        "certificate_id": sc.integer(),
        "definition_id": sc.integer(),
        "definition_name": sc.string(),
        "deployment_id": sc.integer(),
        "created_certificate": sc.boolean(),
        "created_deployment": sc.boolean(),
    },
    ["definition_id", "deployment_id"],
)
SETTINGS = sc.obj(
    {
        "scope": sc.array(sc.string()),
        "size_limit": sc.integer(),
        "concurrency": sc.integer(),
        "per_host": sc.integer(),
        "connect_timeout": {"type": "number"},
        "handshake_timeout": {"type": "number"},
        "schedule_enabled": sc.boolean(),
        "schedule_targets": sc.string(),
        "schedule_ports": sc.string(),
        "schedule_time": sc.string(),
        "schedule_interval_hours": sc.integer(),
        "policy": {"type": "object"},
    },
    [],
)


def _enum(name: str, values: tuple[str, ...], description: str) -> dict[str, object]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "string", "enum": ["all", *values]},
    }


def _targets(body: dict[str, Any]) -> str:
    raw = body.get("targets")
    if isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        raw = "\n".join(raw)
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(
            "targets is required: names, addresses, networks or ranges", field="targets"
        )
    if len(raw) > MAX_TARGETS_TEXT:
        raise ValidationError("targets is larger than 4 MiB", field="targets")
    return raw


def _starttls(body: dict[str, Any]) -> dict[int, str]:
    raw = body.get("starttls") or {}
    if not isinstance(raw, dict) or len(raw) > 1000:
        raise ValidationError("starttls must map ports to protocols", field="starttls")
    return parse_starttls([f"{k}={v}" for k, v in raw.items()])


@api.op(
    "POST",
    "/discovery/scans",
    "Start a scan (inside the admin's scope; above the size limit it needs confirm_large)",
    request=sc.obj(
        {
            "targets": {"oneOf": [sc.string(), sc.array(sc.string())]},
            "ports": sc.string(max_len=10000),
            "confirm_large": sc.boolean(),
            "precheck": sc.boolean(),
            "starttls": {
                "type": "object",
                "description": 'per port, a STARTTLS protocol ("2525": "smtp")',
                "additionalProperties": {"type": "string", "enum": list(STARTTLS_PROTOCOLS)},
            },
        },
        ["targets"],
    ),
    response=SCAN,
    status=201,
)
async def start(request: web.Request) -> web.Response:
    """Start a scan."""
    ctx, who = actor(request)
    body = await json_body(request)
    row = await start_scan(
        ctx.db,
        who,
        ctx.clock,
        targets=_targets(body),
        ports=s_field(body, "ports", max_len=10000) or None,
        confirm_large=bool_field(body, "confirm_large"),
        precheck=bool_field(body, "precheck"),
        starttls=_starttls(body),
    )
    request.app[appkeys.SCHEDULER].trigger(DISCOVERY)
    return ok(scan_json(row), status=201)


@api.op(
    "GET",
    "/discovery/scans",
    "Past scans, newest first",
    response=sc.array(SCAN),
    params=({"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},),
)
async def scans(request: web.Request) -> web.Response:
    """List scans."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 50, 1, 1000)
    return ok([scan_json(r) for r in await list_scans(ctx.db, limit=limit)])


@api.op(
    "GET", "/discovery/scans/{id}", "One scan with its progress", response=SCAN, params=(sc.ID,)
)
async def scan(request: web.Request) -> web.Response:
    """One scan."""
    ctx, _ = actor(request)
    return ok(scan_json(await get_scan(ctx.db, path_id(request))))


@api.op(
    "POST",
    "/discovery/scans/{id}/cancel",
    "Stop a queued or running scan",
    response=SCAN,
    params=(sc.ID,),
    extra_responses=(409,),
)
async def cancel(request: web.Request) -> web.Response:
    """Cancel a scan."""
    ctx, who = actor(request)
    return ok(scan_json(await cancel_scan(ctx.db, who, path_id(request), ctx.clock)))


@api.op(
    "GET",
    "/discovery/scans/{id}/results",
    "A scan's results (filters: verdict, match, outcome, rule; tls=false for every outcome)",
    response=sc.array(RESULT),
    params=(
        sc.ID,
        _enum("verdict", VERDICTS, "policy verdict"),
        _enum("match", MATCHES, "repository match"),
        _enum("outcome", OUTCOMES, "what the endpoint gave"),
        {"name": "rule", "in": "query", "schema": {"type": "string", "maxLength": 40}},
        {"name": "tls", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100000}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    ),
)
async def results(request: web.Request) -> web.Response:
    """Results."""
    ctx, _ = actor(request)
    scan_id = path_id(request)
    await get_scan(ctx.db, scan_id)
    q = request.query
    rows = await endpoints(
        ctx.db,
        scan_id,
        verdict=q.get("verdict"),
        match=q.get("match"),
        outcome=q.get("outcome"),
        rule=q.get("rule") or None,
        tls_only=q.get("tls", "true") != "false",
        limit=int_param(request, "limit", 1000, 1, 100_000),
        offset=int_param(request, "offset", 0, 0, 10**9),
    )
    return ok([r.to_json() for r in rows])


@api.op(
    "GET",
    "/discovery/scans/{id}/report",
    "A scan's report: counts by verdict, match, outcome and rule, and every TLS result",
    response=sc.obj(
        {
            "scan": SCAN,
            "by_verdict": {"type": "object"},
            "by_match": {"type": "object"},
            "by_outcome": {"type": "object"},
            "by_rule": {"type": "object"},
            "results": sc.array(RESULT),
        },
        ["scan"],
    ),
    params=(sc.ID,),
)
async def report(request: web.Request) -> web.Response:
    """Report (JSON export)."""
    ctx, _ = actor(request)
    return ok((await scan_report(ctx.db, path_id(request))).to_json())


@api.op(
    "GET",
    "/discovery/scans/{id}/results.csv",
    "A scan's TLS results as CSV",
    content_type="text/csv",
    params=(sc.ID,),
)
async def results_as_csv(request: web.Request) -> web.Response:
    """CSV export."""
    ctx, _ = actor(request)
    scan_id = path_id(request)
    rep = await scan_report(ctx.db, scan_id)
    return web.Response(
        text=results_csv(rep.results),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="discovery-scan-{scan_id}.csv"'},
    )


@api.op(
    "POST",
    "/discovery/import",
    "Import results (one or many): definitions without keys and monitoring-only deployments",
    request=sc.obj({"results": sc.array(sc.integer(), max_items=1000)}, ["results"]),
    response=sc.array(IMPORTED),
)
async def import_found(request: web.Request) -> web.Response:
    """Bulk import."""
    ctx, who = actor(request)
    body = await json_body(request)
    ids = body.get("results")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ValidationError("results must be a list of result ids", field="results")
    done = await import_results(ctx.db, ctx.vault, who, ctx.clock, ids)
    return ok([d.to_json() for d in done])


@api.op(
    "POST",
    "/discovery/import-from-server",
    "Connect to one server and import the certificate it serves (with its deployment)",
    request=sc.obj(
        {
            "host": sc.string(max_len=253),
            "port": sc.integer(),
            "sni": sc.string(max_len=253),
            "starttls": {"type": "string", "enum": list(STARTTLS_PROTOCOLS)},
        },
        ["host"],
    ),
    response=IMPORTED,
    extra_responses=(502,),
)
async def import_server(request: web.Request) -> web.Response:
    """Import from server."""
    ctx, who = actor(request)
    body = await json_body(request)
    port = body.get("port", 443)
    if not isinstance(port, int) or isinstance(port, bool):
        raise ValidationError("port must be a number", field="port")
    done = await import_from_server(
        ctx.db,
        ctx.vault,
        who,
        ctx.clock,
        s_field(body, "host", required=True, max_len=253),
        port,
        sni=s_field(body, "sni", max_len=253) or None,
        starttls=s_field(body, "starttls", max_len=10) or None,
    )
    return ok(done.to_json())


@api.op(
    "GET",
    "/discovery/settings",
    "Scope allow-list, size limit, schedule and trust policy",
    response=SETTINGS,
)
async def settings(request: web.Request) -> web.Response:
    """Settings."""
    ctx, _ = actor(request)
    return ok((await load_discovery_config(ctx.db)).to_json())


@api.op(
    "PUT",
    "/discovery/settings",
    "Change the discovery settings (admins; keys left out keep their value)",
    request=SETTINGS,
    response=SETTINGS,
    admin=True,
)
async def change_settings(request: web.Request) -> web.Response:
    """Change settings."""
    ctx, who = actor(request)
    body = await json_body(request)
    cfg = discovery_config_from(body, await load_discovery_config(ctx.db))
    saved = await save_discovery_config(ctx.db, who, cfg, ctx.clock)
    return ok(saved.to_json())
