"""Dashboard: counts by status and the expiry timeline (SVG rendered on the server)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from certmgr.controller.services.certificates.overview import DashboardCounts, dashboard_counts
from certmgr.controller.services.monitoring.daily import needs_today
from certmgr.controller.services.notification.health import notification_health
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.render import render

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
    )


def timeline_svg(counts: DashboardCounts, now: dt.datetime) -> dict[str, object]:
    """Geometry of the bar chart (the template draws it as inline SVG; no script)."""
    weeks = counts.weekly_expiries
    peak = max(weeks) if any(weeks) else 1
    width, height, pad = 29 * 24, 160, 24
    bars = []
    for i, n in enumerate(weeks):
        h = 0 if n == 0 else max(2, int((height - pad) * n / peak))
        start = now + dt.timedelta(weeks=i)
        bars.append(
            {
                "x": i * 24 + 2,
                "y": height - h,
                "w": 20,
                "h": h,
                "n": n,
                "label": f"week of {start:%Y-%m-%d}: {n} expiring",
            }
        )
    ticks = [
        {"x": i * 24 + 2, "text": f"{(now + dt.timedelta(weeks=i)):%b %d}"} for i in range(0, 29, 4)
    ]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "peak": peak}
