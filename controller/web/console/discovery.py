"""Certificate Discovery: start a scan, watch it, filter its results, import in bulk, report."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.scheduler.jobs import DISCOVERY
from certmgr.controller.services.monitoring.discovery_config import (
    DiscoveryConfig,
    discovery_config_from,
    load_discovery_config,
    save_discovery_config,
)
from certmgr.controller.services.monitoring.discovery_import import import_results
from certmgr.controller.services.monitoring.discovery_match import MATCHES
from certmgr.controller.services.monitoring.discovery_scans import (
    cancel_scan,
    scan_json,
    start_scan,
)
from certmgr.controller.services.monitoring.discovery_views import (
    OUTCOMES,
    VERDICTS,
    Report,
    endpoints,
    get_scan,
    list_scans,
    results_csv,
    scan_report,
)
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import (
    FormErrors,
    checkbox,
    choice,
    form_of,
    integer,
    multiline,
    text,
)
from certmgr.controller.web.render import redirect, render
from certmgr.shared.discovery.policy import HASHES, KEY_TYPES, PROTOCOLS, Rule, TrustPolicy
from certmgr.shared.errors import CertmgrError, ValidationError

routes = web.RouteTableDef()
RULES = tuple(r.value for r in Rule)
PER_PAGE = 500
JUDGEMENTS = ("critical", "warning", "off")
POLICY_NUMBERS = {
    "min_rsa_bits": "Smallest RSA key (bits)",
    "min_ec_bits": "Smallest elliptic-curve key (bits)",
    "min_days_left": "Warn when this many days or fewer are left",
    "max_lifetime_days": "Longest lifetime of a server certificate (days)",
}
RULE_WORDS = {
    "untrusted": "The chain leads to no trusted root (the system store if on, the private CA).",
    "chain-incomplete": "The server leaves out intermediates a client needs.",
    "chain-order": "The server sends its chain out of order.",
    "name-mismatch": "The certificate does not name the host it was reached by.",
    "weak-key": "A key is smaller than the minimum below, or of a type not allowed.",
    "weak-signature": "A certificate is signed with one of the weak hashes below.",
    "expired": "The certificate has expired.",
    "not-yet-valid": "The certificate is not valid yet.",
    "expires-soon": "Fewer days are left than the number below.",
    "lifetime-too-long": "The certificate is valid for longer than the maximum below.",
    "revoked": "certmgr's own CA has revoked it (its CRL).",
    "old-protocol": "The server offers a protocol below the floor (deeper scans only).",
}


def _scan_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound(text="no such scan")
    return int(raw)


async def _page(
    request: web.Request,
    *,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    form: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    settings_errors: dict[str, str] | None = None,
) -> web.Response:
    ctx = ctx_of(request)
    cfg = await load_discovery_config(ctx.db)
    return render(
        request,
        "console/discovery.html",
        status=status,
        title="Certificate Discovery",
        scans=await list_scans(ctx.db, limit=50),
        cfg=cfg,
        sv=settings if settings is not None else _settings_values(cfg),
        serrors=settings_errors or {},
        rules=[(r, RULE_WORDS.get(r, "")) for r in RULES],
        key_types=KEY_TYPES,
        hashes=HASHES,
        protocols=PROTOCOLS,
        judgements=JUDGEMENTS,
        policy_numbers=POLICY_NUMBERS,
        form=form or {},
        errors=errors or {},
    )


def _settings_values(cfg: DiscoveryConfig) -> dict[str, Any]:
    """The settings form's values from the stored settings."""
    try:
        policy = cfg.trust_policy()
    except ValidationError:
        policy = TrustPolicy()
    d = policy.to_dict()
    values: dict[str, Any] = {
        "scope": "\n".join(cfg.scope),
        "size_limit": str(cfg.size_limit),
        "schedule_enabled": cfg.schedule_enabled,
        "schedule_targets": cfg.schedule_targets,
        "schedule_ports": cfg.schedule_ports,
        "schedule_time": cfg.schedule_time,
        "p_trust_system_store": d["trust_system_store"],
        "p_allowed_key_types": list(d["allowed_key_types"]),
        "p_weak_signature_hashes": list(d["weak_signature_hashes"]),
        "p_min_protocol": d["min_protocol"] or "",
    }
    values.update({f"p_{name}": str(d[name]) for name in POLICY_NUMBERS})
    for rule in Rule:
        values[f"rule_{rule}"] = (
            "off" if rule in policy.disabled_rules else str(policy.severity(rule))
        )
    return values


def _typed_settings(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the admin typed, to show again beside the errors."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    getall = getattr(form, "getall", None)
    for name in ("p_allowed_key_types", "p_weak_signature_hashes"):
        values[name] = [v for v in (getall(name, []) if getall else []) if isinstance(v, str)]
    values["schedule_enabled"] = checkbox(form, "schedule_enabled")
    values["p_trust_system_store"] = checkbox(form, "p_trust_system_store")
    return values


def _policy_of(form: Mapping[str, Any], errors: FormErrors) -> dict[str, Any]:
    """The trust policy's JSON form from the settings form; every wrong field noted at once."""
    getall = getattr(form, "getall", None)

    def names(field: str) -> list[str]:
        return [v for v in (getall(field, []) if getall else []) if isinstance(v, str)]

    policy: dict[str, Any] = {
        "trust_system_store": checkbox(form, "p_trust_system_store"),
        "allowed_key_types": names("p_allowed_key_types"),
        "weak_signature_hashes": names("p_weak_signature_hashes"),
        "min_protocol": errors.read(
            lambda: choice(form, "p_min_protocol", ("", *PROTOCOLS), default="", label="Floor"),
            "",
        )
        or None,
    }
    for name, label in POLICY_NUMBERS.items():
        policy[name] = errors.read(
            functools.partial(integer, form, f"p_{name}", label=label, hi=10**6), None
        )
    disabled, severities = [], {}
    default = TrustPolicy()
    for rule in Rule:
        usual = str(default.severity(rule))
        judged = errors.read(
            functools.partial(choice, form, f"rule_{rule}", JUDGEMENTS, default=usual, label=rule),
            usual,
        )
        if judged == "off":
            disabled.append(str(rule))
        elif judged != default.severity(rule):
            severities[str(rule)] = judged
    policy["disabled_rules"] = disabled
    policy["severities"] = severities
    for key, value in policy.items():  # each field checked alone: all errors at once
        if value is None or f"p_{key}" in errors.by_field:
            continue
        try:
            TrustPolicy.from_dict({key: value})
        except ValidationError as err:
            errors.add(err, field=f"p_{key}")
    return policy


@routes.get("/discovery")
async def discovery(request: web.Request) -> web.Response:
    """Start a scan, past runs, the scope and schedule (admins change them)."""
    return await _page(request)


@routes.post("/discovery/scans")
async def start(request: web.Request) -> web.Response:
    """Queue a scan and go to its page, where its progress shows."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    kept = {
        "targets": form.get("targets", ""),
        "ports": form.get("ports", ""),
        "confirm_large": checkbox(form, "confirm_large"),
        "precheck": checkbox(form, "precheck"),
    }
    errors = FormErrors()
    targets = errors.read(
        lambda: multiline(form, "targets", max_len=1_000_000, label="Targets"), ""
    )
    if not targets.strip() and not errors:
        errors.add(
            ValidationError(
                "name what to scan: host names, addresses, networks or ranges", field="targets"
            )
        )
    ports = errors.read(lambda: text(form, "ports", max_len=2000, label="Ports"), "")
    if errors:  # the service names a bad port beside bad targets itself
        return await _page(request, status=422, errors=errors.by_field, form=kept)
    try:
        row = await start_scan(
            ctx.db,
            actor,
            ctx.clock,
            targets=targets,
            ports=ports or None,
            confirm_large=bool(kept["confirm_large"]),
            precheck=bool(kept["precheck"]),
        )
    except ValidationError as err:
        errors.add(err)
        return await _page(request, status=422, errors=errors.by_field, form=kept)
    request.app[appkeys.SCHEDULER].trigger(DISCOVERY)
    raise redirect(request, f"/discovery/scans/{row.id}", f"Scan #{row.id} started.")


@routes.get("/discovery/scans/{id}")
async def scan_page(request: web.Request) -> web.Response:
    """A scan: progress while it runs, then its results with filters and bulk import."""
    ctx = ctx_of(request)
    scan_id = _scan_id(request)
    try:
        scan = await get_scan(ctx.db, scan_id)
    except CertmgrError:
        raise web.HTTPNotFound(text="no such scan") from None
    q = request.query
    filters = {
        "verdict": q.get("verdict", "") if q.get("verdict") in VERDICTS else "",
        "match": q.get("match", "") if q.get("match") in MATCHES else "",
        "outcome": q.get("outcome", "") if q.get("outcome") in OUTCOMES else "",
        "rule": q.get("rule", "") if q.get("rule") in RULES else "",
    }
    rows = await endpoints(
        ctx.db,
        scan_id,
        verdict=filters["verdict"] or None,
        match=filters["match"] or None,
        outcome=filters["outcome"] or None,
        rule=filters["rule"] or None,
        tls_only=not filters["outcome"],
        limit=PER_PAGE,
    )
    return render(
        request,
        "console/discovery_scan.html",
        title=f"Discovery scan #{scan.id}",
        scan=scan,
        rows=rows,
        filters=filters,
        verdicts=VERDICTS,
        matches=MATCHES,
        outcomes=OUTCOMES,
        rules=RULES,
        per_page=PER_PAGE,
    )


@routes.get("/discovery/scans/{id}/progress.json")
async def progress(request: web.Request) -> web.Response:
    """The scan's progress for the page's live view (polled every second)."""
    ctx = ctx_of(request)
    ctx.require_actor()
    try:
        scan = await get_scan(ctx.db, _scan_id(request))
    except CertmgrError:
        raise web.HTTPNotFound(text="no such scan") from None
    done = scan.state not in ("queued", "running")
    message = (
        "Waiting for the scheduler to start the scan…"
        if scan.state == "queued"
        else f"{scan.probed} of {scan.pairs} probed, {scan.open_endpoints} TLS endpoints, "
        f"{scan.critical} critical, {scan.unknown} unknown" + ("" if done else " …")
    )
    return web.json_response(
        {
            **scan_json(scan),
            "done": done,
            "message": message,
            "location": f"/discovery/scans/{scan.id}",
        }
    )


@routes.post("/discovery/scans/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    """Stop a scan (what it found so far stays)."""
    ctx = ctx_of(request)
    scan_id = _scan_id(request)
    try:
        await cancel_scan(ctx.db, ctx.require_actor(), scan_id, ctx.clock)
    except CertmgrError as err:
        raise redirect(request, f"/discovery/scans/{scan_id}", str(err), "bad") from None
    raise redirect(request, f"/discovery/scans/{scan_id}", f"Scan #{scan_id} stopped.")


@routes.post("/discovery/import")
async def bulk_import(request: web.Request) -> web.Response:
    """Import the chosen results: definitions without keys, monitoring-only deployments."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    back = text(form, "back", max_len=200) or "/discovery"
    if not back.startswith("/discovery"):
        back = "/discovery"
    ids = [int(v) for v in form.getall("result", []) if isinstance(v, str) and v.isdigit()]
    if not ids:
        raise redirect(request, back, "Choose the results to import first.", "bad")
    try:
        done = await import_results(ctx.db, ctx.vault, actor, ctx.clock, ids)
    except CertmgrError as err:
        raise redirect(request, back, str(err), "bad") from None
    new = sum(d.created_certificate for d in done)
    deps = sum(d.created_deployment for d in done)
    raise redirect(
        request,
        back,
        f"Imported {len(done)} result(s): {new} new certificate(s), {deps} new monitoring-only "
        "deployment(s).",
    )


async def _report(request: web.Request) -> Report:
    try:
        return await scan_report(ctx_of(request).db, _scan_id(request))
    except CertmgrError:
        raise web.HTTPNotFound(text="no such scan") from None


@routes.get("/discovery/scans/{id}/report")
async def report(request: web.Request) -> web.Response:
    """A page for printing and for auditors: the scan, counts, every certificate and verdict."""
    ctx = ctx_of(request)
    rep = await _report(request)
    return render(
        request,
        "console/discovery_report.html",
        title=f"Discovery report: scan #{rep.scan.id}",
        rep=rep,
        printed_at=ctx.clock.now(),
    )


@routes.get("/discovery/scans/{id}/export.csv")
async def export_csv(request: web.Request) -> web.Response:
    """Every TLS result of the scan as CSV."""
    rep = await _report(request)
    scan_id = rep.scan.id
    return web.Response(
        text=results_csv(rep.results),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="discovery-scan-{scan_id}.csv"'},
    )


@routes.get("/discovery/scans/{id}/export.json")
async def export_json(request: web.Request) -> web.Response:
    """The scan's report as JSON."""
    rep = await _report(request)
    scan_id = rep.scan.id
    return web.Response(
        text=json.dumps(rep.to_json(), indent=2, default=str),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="discovery-scan-{scan_id}.json"'},
    )


@routes.post("/discovery/settings")
async def settings(request: web.Request) -> web.Response:
    """Admins: the scope allow-list, size limit, schedule and trust policy (all errors at once)."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    errors = FormErrors()
    base = await load_discovery_config(ctx.db)
    fields: dict[str, Any] = {
        "scope": errors.read(lambda: multiline(form, "scope", max_len=100_000, label="Scope"), ""),
        "size_limit": errors.read(
            lambda: integer(form, "size_limit", lo=1, hi=2**32, label="Size limit"), None
        ),
        "schedule_enabled": checkbox(form, "schedule_enabled"),
        "schedule_targets": errors.read(
            lambda: multiline(form, "schedule_targets", max_len=100_000, label="Targets"), ""
        ),
        "schedule_ports": errors.read(
            lambda: text(form, "schedule_ports", max_len=2000, label="Ports"), ""
        ),
        "schedule_time": errors.read(
            lambda: text(form, "schedule_time", max_len=5, label="Time"), ""
        )
        or "02:00",
    }
    if form.get("policy_form"):
        fields["policy"] = _policy_of(form, errors)
    for key, value in fields.items():  # each setting checked alone: all errors at once
        if value is None or key == "policy" or key in errors.by_field:
            continue
        try:
            discovery_config_from({key: value}, base)
        except ValidationError as err:
            errors.add(err, field=key)
    if not errors:
        try:
            cfg = discovery_config_from(fields, base)
            await save_discovery_config(ctx.db, actor, cfg, ctx.clock)
        except ValidationError as err:
            errors.add(err)
        else:
            raise redirect(request, "/discovery#settings", "Discovery settings saved.")
    return await _page(
        request,
        status=422,
        settings=_typed_settings(form),
        settings_errors=errors.by_field,
    )
