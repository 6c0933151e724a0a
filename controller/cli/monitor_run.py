"""``certmgr monitor run|findings|jobs`` and ``certmgr report readiness``: the handlers (parsers in ``monitor_cmd``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.base import CommandContext, table
from certmgr.controller.scheduler import leases
from certmgr.controller.scheduler.jobs import MONITORING, OUTBOX, controller_jobs
from certmgr.controller.scheduler.runner import Scheduler
from certmgr.controller.services.monitoring.checks import check_deployment_now
from certmgr.controller.services.monitoring.config import load_monitor_config
from certmgr.controller.services.monitoring.readiness import readiness_report
from certmgr.controller.services.monitoring.views import check_history, findings_page
from certmgr.controller.services.notification.alerts import finding_json
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import ConflictError


async def _run(ctx: CommandContext) -> int:
    db = await ctx.db()
    clock = SystemClock()
    a = ctx.args
    if a.deployment is not None:
        row = await check_deployment_now(
            db, ctx.actor, a.deployment, clock, await load_monitor_config(db)
        )
        page = await check_history(db, deployment_id=a.deployment, per_page=1)
        data = page.items[0].to_json() if page.items else {"id": row.id, "ok": row.ok}
        if a.json:
            ctx.print_json(data)
        else:
            ctx.print(
                f"deployment #{a.deployment} {data.get('endpoint', '')}: "
                + ("OK" if row.ok else f"FAILED: {row.error}")
            )
        return 0 if row.ok else 1
    scheduler = Scheduler(db, ctx.vault, clock, controller_jobs(), settings=ctx.settings)
    bar = None

    def observe(job: str, data: dict[str, Any]) -> None:
        nonlocal bar
        total = int(data.get("total", 0))
        if bar is None and total:
            bar = ctx.progress(total, "checking")
        if bar is not None:
            bar(int(data.get("done", 0)))

    scheduler.observer = observe
    await scheduler.setup()
    run = await scheduler.run_job(MONITORING, force=True)
    if run.status == "skipped":
        raise ConflictError("monitoring is running right now on a controller; try again later")
    delivery = await scheduler.run_job(OUTBOX, force=True)
    summary = {**run.summary, "result": run.status, "error": run.error}
    summary["delivered"] = delivery.summary.get("sent", 0)
    if a.json:
        ctx.print_json(summary)
    else:
        ctx.print(
            f"checked {summary.get('total', 0)} deployments in {summary.get('seconds', 0):.1f} s: "
            f"{summary.get('ok', 0)} OK, {summary.get('failed', 0)} failing "
            f"({summary.get('unreachable', 0)} unreachable); findings opened "
            f"{summary.get('opened', 0)}, cleared {summary.get('cleared', 0)}"
        )
        if run.error:
            ctx.print(f"error: {run.error}")
    # 1 = a check found problems (README's exit codes), also when the run itself went fine.
    return 0 if run.status == "ok" and not summary.get("failed") else 1


async def _findings(ctx: CommandContext) -> int:
    db = await ctx.db()
    page = await findings_page(db, state="all" if ctx.args.all else "open", per_page=10000)
    rows = [finding_json(r.finding) for r in page.items]
    if ctx.args.json:
        ctx.print_json(rows)
        return 0
    if not rows:
        ctx.print("no open findings")
        return 0
    ctx.print(
        table(
            [
                (f["id"], f["severity"], f["kind"], f["state"], f["opened_at"][:16], f["message"])
                for f in rows
            ],
            ["#", "severity", "kind", "state", "opened (UTC)", "what"],
        )
    )
    return 0


async def _jobs(ctx: CommandContext) -> int:
    db = await ctx.db()
    rows = await leases.all_jobs(db)
    data = [
        {
            "name": j.name,
            "next_run_at": j.next_run_at,
            "holder": j.holder,
            "lease_until": j.lease_until,
            "last_finished_at": j.last_finished_at,
            "last_result": j.last_result,
            "last_error": j.last_error,
            "runs": j.runs,
            "failures": j.failures,
        }
        for j in rows
    ]
    if ctx.args.json:
        ctx.print_json(data)
        return 0
    ctx.print(
        table(
            [
                (
                    d["name"],
                    f"{d['next_run_at']:%Y-%m-%d %H:%M}" if d["next_run_at"] else "-",
                    d["last_result"] or "-",
                    d["runs"],
                    d["failures"],
                    d["holder"] or "-",
                )
                for d in data
            ],
            ["job", "next run (UTC)", "last result", "runs", "failures", "running on"],
        )
    )
    return 0


async def _readiness(ctx: CommandContext) -> int:
    report = await readiness_report(await ctx.db())
    if ctx.args.json:
        ctx.print_json(report.to_json())
        return 0
    labels = [t.label for t in report.totals]
    ctx.print(
        table(
            [
                (
                    r.name,
                    r.issuer_kind,
                    r.mode,
                    r.manual_steps_per_renewal,
                    *(
                        f"{s.renewals_per_year:.1f} / {s.manual_steps_per_year:.1f}"
                        for s in r.scenarios
                    ),
                )
                for r in report.rows
            ],
            ["definition", "issuer", "mode", "steps/renewal", *labels],
        )
    )
    ctx.print()
    for t in report.totals:
        ctx.print(
            f"{t.label}: {t.renewals_per_year:.0f} renewals and "
            f"{t.manual_steps_per_year:.0f} manual steps per year"
        )
    ctx.print(", ".join(f"{n} {m}" for m, n in report.modes.items()))
    return 0
