"""Monitor Control, Findings, Acquisition Processes and the short-lifetime readiness report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.domain.status import check_sentence
from certmgr.controller.scheduler import leases
from certmgr.controller.scheduler.jobs import DIGEST, MONITORING
from certmgr.controller.services.monitoring.checks import check_deployment_now
from certmgr.controller.services.monitoring.config import (
    MonitorConfig,
    NotifyConfig,
    check_monitor_config,
    check_notify_config,
    load_monitor_config,
    load_notify_config,
    next_at,
    save_monitor_config,
    save_notify_config,
)
from certmgr.controller.services.monitoring.daily import ongoing_requests, renewals_due
from certmgr.controller.services.monitoring.findings import AGENT_MISMATCH, MANAGED_KINDS
from certmgr.controller.services.monitoring.readiness import readiness_report
from certmgr.controller.services.monitoring.views import (
    RESULTS,
    SOURCES,
    check_history,
    finding_counts,
    findings_page,
)
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import FormErrors, ListQuery, checkbox, form_of, integer, text
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import CertmgrError

routes = web.RouteTableDef()


def _optional_id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 12 else None


@routes.get("/monitor")
async def monitor(request: web.Request) -> web.Response:
    """Schedule, jobs with progress, "run now", and the check history with filters."""
    return await _monitor_page(request)


def _settings_values(cfg: MonitorConfig, ncfg: NotifyConfig) -> dict[str, str]:
    """The settings form's fields as stored (checkboxes: "on" or "")."""
    return {
        "time_of_day": cfg.time_of_day,
        "interval_hours": str(cfg.interval_hours),
        "concurrency": str(cfg.concurrency),
        "probe_timeout": str(int(cfg.probe_timeout)),
        "expiring_days": str(cfg.expiring_days),
        "expiring_percent": str(round(cfg.expiring_fraction * 100)),
        "unreachable_after": str(cfg.unreachable_after),
        "renewal_concurrency": str(cfg.renewal_concurrency),
        "verify_trust": "on" if cfg.verify_trust else "",
        "digest_time": ncfg.digest_time,
        "digest_always": "on" if ncfg.digest_always else "",
        "immediate_critical": "on" if ncfg.immediate_critical else "",
    }


async def _monitor_page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """Monitor Control; ``typed`` is what a settings form that failed was sent with."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request, sortable=["at"], default_sort="at", filters=["deployment", "result", "source"]
    )
    dep_id = _optional_id(q.filter("deployment"))
    history = await check_history(
        ctx.db,
        deployment_id=dep_id,
        result=q.filter("result") if q.filter("result") in RESULTS else "",
        source=q.filter("source"),
        q=q.q,
        page=q.page,
        per_page=q.per_page,
    )
    scheduler = request.app[appkeys.SCHEDULER]
    cfg, ncfg = await load_monitor_config(ctx.db), await load_notify_config(ctx.db)
    return render(
        request,
        "console/monitor.html",
        title="Monitor Control",
        jobs=await leases.all_jobs(ctx.db),
        titles={name: spec.title for name, spec in scheduler.jobs.items()},
        running=scheduler.running(),
        now_utc=ctx.clock.now(),
        loop_enabled=ctx.settings.scheduler_enabled,
        cfg=cfg,
        ncfg=ncfg,
        settings_values=typed if typed is not None else _settings_values(cfg, ncfg),
        errors=errors or {},
        history=history,
        q=q,
        results=RESULTS,
        sources=SOURCES,
        deployment=dep_id,
        status=status,
    )


@routes.post("/monitor/run")
async def run_now(request: web.Request) -> web.Response:
    """Run monitoring now: every deployment (on a background task) or one (right away)."""
    ctx = ctx_of(request)
    form = await form_of(request)
    actor = ctx.require_actor()
    raw = text(form, "deployment", max_len=12, label="Deployment")
    if raw:
        dep_id = _optional_id(raw.lstrip("#"))
        if dep_id is None:
            raise redirect(request, "/monitor", "Enter a deployment number.", "bad")
        try:
            row = await check_deployment_now(
                ctx.db, actor, dep_id, ctx.clock, await load_monitor_config(ctx.db)
            )
        except CertmgrError as err:
            raise redirect(request, "/monitor", str(err), "bad") from None
        message = check_sentence(row.ok, row.reachable, row.served_sha256, row.error)
        raise redirect(request, f"/monitor?deployment={dep_id}", message, "ok" if row.ok else "bad")
    started = request.app[appkeys.SCHEDULER].trigger(MONITORING)
    raise redirect(
        request,
        "/monitor",
        "Monitoring started; the progress shows below." if started else "Monitoring is running.",
    )


@routes.post("/monitor/jobs/{name}/run")
async def run_job(request: web.Request) -> web.Response:
    """Run any scheduled job now."""
    ctx_of(request).require_actor()
    name = request.match_info["name"]
    scheduler = request.app[appkeys.SCHEDULER]
    if name not in scheduler.jobs:
        raise web.HTTPNotFound(text="no such job")
    started = scheduler.trigger(name)
    title = scheduler.jobs[name].title
    raise redirect(request, "/monitor", f"{title} started." if started else f"{title} is running.")


def job_status(job: Any, starting: bool, now: dt.datetime) -> dict[str, object]:
    """A job's progress as the monitor page polls it: state, a sentence, done or not.

    ``job`` is the job's lease row (``scheduler.leases.all_jobs``) or None before its first run.
    """
    if job is not None and job.holder and job.lease_until and job.lease_until > now:
        p = job.progress or {}
        if "total" in p:
            message = f"Running: {p.get('done') or 0} of {p['total']} checked, {p.get('failed') or 0} failing."
        else:
            message = "Running."
        return {"state": "running", "message": message, "done": False, "location": "/monitor"}
    if starting:
        return {"state": "starting", "message": "Starting.", "done": False, "location": "/monitor"}
    if job is None or not job.last_finished_at:
        return {"state": "idle", "message": "Not run yet.", "done": True, "location": "/monitor"}
    p = job.progress or {}
    result = "finished" if job.last_result == "ok" else f"failed: {job.last_error[:200]}"
    detail = (
        f" {p['total']} checked, {p.get('ok', 0)} OK, {p.get('failed', 0)} failing."
        if "total" in p
        else ""
    )
    return {
        "state": "finished" if job.last_result == "ok" else "failed",
        "message": f"Last run {result}.{detail}",
        "done": True,
        "location": "/monitor",
    }


@routes.get("/monitor/jobs/{name}/status")
async def job_status_json(request: web.Request) -> web.Response:
    """A job's progress as JSON: the monitor page polls it every second while the job runs."""
    ctx = ctx_of(request)
    ctx.require_actor()
    name = request.match_info["name"]
    scheduler = request.app[appkeys.SCHEDULER]
    if name not in scheduler.jobs:
        raise web.HTTPNotFound(text="no such job")
    job = next((j for j in await leases.all_jobs(ctx.db) if j.name == name), None)
    body = job_status(job, name in scheduler.running(), ctx.clock.now())
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.post("/monitor/settings")
async def save_settings(request: web.Request) -> web.Response:
    """Schedule, thresholds and notification settings (admin)."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    errors = FormErrors()

    def num(name: str, lo: int, hi: int, label: str, default: int) -> int:
        return errors.read(lambda: integer(form, name, lo=lo, hi=hi, label=label), default)

    def hhmm(name: str, label: str) -> str:
        return errors.read(lambda: text(form, name, required=True, max_len=5, label=label), "00:00")

    cfg = MonitorConfig(
        interval_hours=num("interval_hours", 1, 168, "Interval", 24),
        time_of_day=hhmm("time_of_day", "Time"),
        concurrency=num("concurrency", 1, 1000, "Concurrency", 1),
        probe_timeout=float(num("probe_timeout", 1, 120, "Timeout", 10)),
        expiring_days=num("expiring_days", 1, 365, "Expiring days", 30),
        expiring_fraction=num("expiring_percent", 1, 90, "Percent", 33) / 100,
        unreachable_after=num("unreachable_after", 1, 100, "Unreachable after", 1),
        renewal_concurrency=num("renewal_concurrency", 1, 50, "Renewals at a time", 1),
        verify_trust=checkbox(form, "verify_trust"),
    )
    ncfg = NotifyConfig(
        digest_time=hhmm("digest_time", "Digest time"),
        digest_always=checkbox(form, "digest_always"),
        immediate_critical=checkbox(form, "immediate_critical"),
    )
    # the times (and ranges), checked as saving would; a field already wrong keeps its message
    errors.read(lambda: check_monitor_config(cfg), None)
    errors.read(lambda: check_notify_config(ncfg), None)
    if errors:
        typed = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        return await _monitor_page(request, errors=errors.by_field, typed=typed, status=422)
    await save_monitor_config(ctx.db, actor, cfg, ctx.clock)
    await save_notify_config(ctx.db, actor, ncfg, ctx.clock)
    now = ctx.clock.now()
    await leases.reschedule(ctx.db, MONITORING, next_at(now, cfg.time_of_day, cfg.interval_hours))
    await leases.reschedule(ctx.db, DIGEST, next_at(now, ncfg.digest_time, 24))
    raise redirect(request, "/monitor", "Monitoring settings saved.")


@routes.get("/findings")
async def findings(request: web.Request) -> web.Response:
    """Open (or cleared) findings with the certificate and deployment each concerns."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request, sortable=["opened"], default_sort="opened", filters=["state", "kind", "severity"]
    )
    state = q.filter("state") if q.filter("state") in ("open", "cleared", "all") else "open"
    page = await findings_page(
        ctx.db,
        state=state,
        kind=q.filter("kind"),
        severity=q.filter("severity"),
        q=q.q,
        page=q.page,
        per_page=q.per_page,
    )
    return render(
        request,
        "console/findings.html",
        title="Findings",
        page=page,
        q=q,
        state=state,
        kinds=[*MANAGED_KINDS, AGENT_MISMATCH],
        counts=await finding_counts(ctx.db),
    )


@routes.get("/acquisitions")
async def acquisitions(request: web.Request) -> web.Response:
    """Acquisition Processes: ongoing requests, and definitions due for renewal without one."""
    ctx = ctx_of(request)
    now = ctx.clock.now()
    due = await renewals_due(ctx.db, now)
    return render(
        request,
        "console/acquisitions.html",
        title="Acquisition Processes",
        ongoing=await ongoing_requests(ctx.db, now),
        due_without=[r for r in due if r.request_id is None],
        now=now,
    )


@routes.get("/readiness")
async def readiness(request: web.Request) -> web.Response:
    """Short-lifetime readiness report."""
    ctx = ctx_of(request)
    return render(
        request,
        "console/readiness.html",
        title="Readiness for short lifetimes",
        report=await readiness_report(ctx.db),
    )
