"""``GET /metrics``: Prometheus text format (0.0.4), behind the IP allow-list and a token.

The route is public to the session/API-token middleware and checks for itself:
``Authorization: Bearer <metrics token>`` (generated at ``init``, shown to admins in the
settings), the ``[metrics] token`` of ``config.toml`` when one is set, or an admin's API token
or session. Anything else gets 401 (a plain user 403): the metrics name definitions, servers
and endpoints.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from aiohttp import web

from certmgr.controller.domain.actors import Role
from certmgr.controller.services.admin.settings import metrics_token_matches
from certmgr.controller.services.monitoring.discovery_views import (
    DiscoveryMetrics,
    discovery_metrics,
)
from certmgr.controller.services.monitoring.metrics import Metrics, collect_metrics
from certmgr.controller.web.context import ctx_of

routes = web.RouteTableDef()
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _esc(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: object) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items()) + "}"


def _family(
    name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {_num(value)}" for labels, value in samples]
    return lines


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_metrics(m: Metrics) -> str:
    """The exposition text."""
    now = m.now.timestamp()
    out: list[str] = []
    cert_labels = [
        (
            _labels(
                definition=c.definition,
                definition_id=c.definition_id,
                issuer=c.issuer,
                sha256=c.sha256,
            ),
            c,
        )
        for c in m.certificates
    ]
    out += _family(
        "certmgr_certificate_expiry_timestamp_seconds",
        "gauge",
        "Expiry of each definition's current certificate (Unix time).",
        ((lab, c.not_after.timestamp()) for lab, c in cert_labels),
    )
    out += _family(
        "certmgr_certificate_days_to_expiry",
        "gauge",
        "Days until each definition's current certificate expires (negative: expired).",
        ((lab, round((c.not_after.timestamp() - now) / 86400, 2)) for lab, c in cert_labels),
    )
    check_labels = [
        (
            _labels(
                deployment_id=c.deployment_id,
                definition=c.definition,
                server=c.server,
                endpoint=c.endpoint,
                status=c.status,
            ),
            c,
        )
        for c in m.checks
    ]
    out += _family(
        "certmgr_deployment_check_ok",
        "gauge",
        "1 when the deployment's last check passed, else 0.",
        ((lab, 1 if c.ok else 0) for lab, c in check_labels),
    )
    out += _family(
        "certmgr_deployment_check_timestamp_seconds",
        "gauge",
        "Time of the deployment's last check (Unix time).",
        ((lab, c.at.timestamp()) for lab, c in check_labels),
    )
    out += _family(
        "certmgr_job_last_duration_seconds",
        "gauge",
        "Duration of each scheduled job's last run.",
        ((_labels(job=j.name), j.last_duration_ms / 1000) for j in m.jobs),
    )
    out += _family(
        "certmgr_job_runs_total",
        "counter",
        "Finished runs of each scheduled job.",
        ((_labels(job=j.name), j.runs) for j in m.jobs),
    )
    out += _family(
        "certmgr_job_failures_total",
        "counter",
        "Failed runs of each scheduled job.",
        ((_labels(job=j.name), j.failures) for j in m.jobs),
    )
    out += _family(
        "certmgr_job_last_run_timestamp_seconds",
        "gauge",
        "When each job last finished (Unix time).",
        (
            (_labels(job=j.name), j.last_finished_at.timestamp())
            for j in m.jobs
            if j.last_finished_at
        ),
    )
    out += _family(
        "certmgr_job_last_success",
        "gauge",
        "1 when the job's last run succeeded.",
        ((_labels(job=j.name), 1 if j.last_result == "ok" else 0) for j in m.jobs if j.last_result),
    )
    out += _family(
        "certmgr_definitions",
        "gauge",
        "Certificate definitions (not archived).",
        [("", m.definitions)],
    )
    out += _family(
        "certmgr_deployments",
        "gauge",
        "Deployments by status.",
        ((_labels(status=k), v) for k, v in sorted(m.deployments_by_status.items())),
    )
    out += _family(
        "certmgr_requests",
        "gauge",
        "Certificate requests by status.",
        ((_labels(status=k), v) for k, v in sorted(m.requests_by_status.items())),
    )
    out += _family(
        "certmgr_findings_open",
        "gauge",
        "Open findings by kind and severity.",
        ((_labels(kind=k, severity=s), v) for (k, s), v in sorted(m.findings_open.items())),
    )
    out += _family(
        "certmgr_outbox_messages",
        "gauge",
        "Notifications in the outbox by state.",
        ((_labels(state=k), v) for k, v in sorted(m.outbox_by_state.items())),
    )
    return "\n".join(out) + "\n"


def render_discovery_metrics(d: DiscoveryMetrics) -> str:
    """The discovery families: scans by state, and the last finished scan's counts."""
    out = _family(
        "certmgr_discovery_scans_total",
        "counter",
        "Discovery scans by state.",
        ((_labels(state=k), v) for k, v in sorted(d.scans_by_state.items())),
    )
    last = d.last_scan
    if last is not None:
        seconds = (
            (last.finished_at - last.started_at).total_seconds()
            if last.finished_at and last.started_at
            else 0.0
        )
        out += _family(
            "certmgr_discovery_last_scan_timestamp_seconds",
            "gauge",
            "When the last finished discovery scan ended (Unix time).",
            [("", last.finished_at.timestamp() if last.finished_at else 0)],
        )
        out += _family(
            "certmgr_discovery_last_scan_duration_seconds",
            "gauge",
            "Duration of the last finished discovery scan.",
            [("", round(seconds, 3))],
        )
        out += _family(
            "certmgr_discovery_last_scan_pairs",
            "gauge",
            "Address:port pairs named by the last finished discovery scan.",
            [("", last.pairs)],
        )
        out += _family(
            "certmgr_discovery_last_scan_endpoints",
            "gauge",
            "TLS endpoints found by the last finished discovery scan, by policy verdict.",
            ((_labels(verdict=k), v) for k, v in sorted(d.last_by_verdict.items())),
        )
        out += _family(
            "certmgr_discovery_last_scan_matches",
            "gauge",
            "TLS endpoints of the last finished discovery scan by status in the repository.",
            ((_labels(match=k), v) for k, v in sorted(d.last_by_match.items())),
        )
        out += _family(
            "certmgr_discovery_last_scan_certificates",
            "gauge",
            "Distinct certificates served in the last finished discovery scan.",
            [("", last.certificates)],
        )
    return "\n".join(out) + "\n"


async def _metrics_token_ok(request: web.Request) -> bool:
    ctx = ctx_of(request)
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not given:
        return False
    configured = ctx.settings.metrics_token
    if configured and hmac.compare_digest(given.encode(), configured.encode()):
        return True
    return await metrics_token_matches(ctx.db, ctx.vault, given)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """The metrics, for Prometheus."""
    ctx = ctx_of(request)
    if ctx.actor is not None:
        if ctx.actor.role is not Role.ADMIN:
            raise web.HTTPForbidden(text="metrics need the metrics token or the Admin role")
    elif not await _metrics_token_ok(request):
        raise web.HTTPUnauthorized(
            text="send the metrics token (Settings) as a bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    text = render_metrics(await collect_metrics(ctx.db, ctx.clock.now()))
    text += render_discovery_metrics(await discovery_metrics(ctx.db))
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})
