"""Long work started in the console: its page (live progress, then the result) and its status poll."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.services.admin.tasks import get_task, recent_tasks, start_task
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.render import redirect, render

routes = web.RouteTableDef()
T = TypeVar("T")


async def run_as_task(
    request: web.Request,
    *,
    kind: str,
    title: str,
    items: Sequence[T],
    step: Callable[[T], Awaitable[str]],
    location: str = "",
) -> web.HTTPSeeOther:
    """Start ``step`` over ``items`` in the background; the 303 (to raise) goes to its progress page."""
    ctx = ctx_of(request)
    task_id = await start_task(
        ctx.db,
        request.app[appkeys.BACKGROUND],
        ctx.require_actor(),
        ctx.clock,
        kind=kind,
        title=title,
        items=items,
        step=step,
        location=location,
    )
    return redirect(request, f"/tasks/{task_id}", f"{title}: started.")


@routes.get("/tasks")
async def tasks_page(request: web.Request) -> web.Response:
    """Recent long work started in the console (an admin sees everybody's)."""
    ctx = ctx_of(request)
    return render(
        request,
        "console/tasks.html",
        title="Tasks",
        tasks=await recent_tasks(ctx.db, ctx.require_actor(), ctx.clock),
    )


@routes.get("/tasks/{id:\\d{1,12}}")
async def task_page(request: web.Request) -> web.Response:
    """One task: progress that refreshes while it runs, then what it did to each item."""
    ctx = ctx_of(request)
    task = await get_task(ctx.db, ctx.require_actor(), int(request.match_info["id"]), ctx.clock)
    return render(request, "console/task.html", title=task.title, task=task)


@routes.get("/tasks/{id:\\d{1,12}}/status")
async def task_status(request: web.Request) -> web.Response:
    """A task's progress as JSON: its page polls it every second while it runs."""
    ctx = ctx_of(request)
    task = await get_task(ctx.db, ctx.require_actor(), int(request.match_info["id"]), ctx.clock)
    return web.json_response(task.to_json(), headers={"Cache-Control": "no-store"})
