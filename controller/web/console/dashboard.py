"""Dashboard: counts by status and the expiry timeline (SVG rendered on the server)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from certmgr.controller.services.admin.first_run import first_run_checklist, mark_ca_trusted
from certmgr.controller.services.certificates.overview import DashboardCounts, dashboard_counts
from certmgr.controller.services.monitoring.daily import needs_today
from certmgr.controller.services.notification.health import notification_health
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.render import redirect, render

routes = web.RouteTableDef()


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    """The dashboard is home."""
    raise web.HTTPFound("/dashboard")


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    """Counts and the timeline of expiries over the next 200 days."""
    ctx = ctx_of(request)
    now = ctx.clock.now()
    counts = await dashboard_counts(ctx.db, now)
    return render(
        request,
        "console/dashboard.html",
        title="Dashboard",
        counts=counts,
        chart=timeline_svg(counts, now),
        today=await needs_today(ctx.db, now),
        mail=await notification_health(ctx.db),
        checklist=await first_run_checklist(ctx.db),
    )


@routes.post("/dashboard/ca-trusted")
async def ca_trusted(request: web.Request) -> web.Response:
    """Tick the checklist's "trust the private CA" step (nothing else can tell)."""
    ctx = ctx_of(request)
    await mark_ca_trusted(ctx.db, ctx.require_actor(), ctx.clock)
    raise redirect(request, "/dashboard", "Noted: the private CA is trusted.")


def _nice_ticks(peak: int) -> list[int]:
    """Three or four round values from 0 to at least ``peak`` for the y-axis."""
    step = 1
    while peak / step > 4:
        for factor in (2, 5, 10):
            if peak / (step * factor) <= 4:
                step *= factor
                break
        else:
            step *= 10
    top = -(-peak // step) * step
    return list(range(0, top + 1, step))


def timeline_svg(counts: DashboardCounts, now: dt.datetime) -> dict[str, object]:
    """Geometry of the bar chart with a y-axis (the template draws it as inline SVG; no script)."""
    weeks = counts.weekly_expiries
    ticks_y = _nice_ticks(max(max(weeks, default=0), 1))
    top = ticks_y[-1]
    left, right, upper, plot_h, slot = 40, 12, 16, 150, 24
    width = left + slot * len(weeks) + right
    base = upper + plot_h

    def y_of(n: int) -> float:
        return base - plot_h * n / top

    bars = []
    for i, n in enumerate(weeks):
        start = now + dt.timedelta(weeks=i)
        h = 0.0 if n == 0 else max(2.0, plot_h * n / top)
        bars.append(
            {
                "x": left + i * slot + 2,
                "y": round(base - h, 1),
                "w": slot - 4,
                "h": round(h, 1),
                "n": n,
                "label": f"week of {start:%Y-%m-%d}: {n} expiring",
            }
        )
    ticks_x = [
        {"x": left + i * slot + slot / 2, "text": f"{(now + dt.timedelta(weeks=i)):%b %d}"}
        for i in range(0, len(weeks), 4)
    ]
    grid = [{"y": round(y_of(v), 1), "text": str(v)} for v in ticks_y]
    return {
        "width": width,
        "height": base + 24,
        "left": left,
        "base": base,
        "bars": bars,
        "ticks": ticks_x,
        "grid": grid,
        "peak": max(weeks, default=0),
        "total": sum(weeks),
    }
