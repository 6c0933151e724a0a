"""Console tasks on a real database: progress and result recorded, failures counted per item, a
task whose controller stopped shown as interrupted, another user's task not shown (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from certmgr.controller.background import Background
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.admin.tasks import STALE, get_task, recent_tasks, start_task
from certmgr.shared.clock import FakeClock
from certmgr.shared.errors import ConflictError, NotFoundError

ADMIN = Actor("admin", Role.ADMIN)
ALICE = Actor("alice", Role.USER)


async def test_task_progress_result_and_interruption(db: Any) -> None:
    clock = FakeClock()
    background = Background()

    async def step(n: int) -> str:
        if n == 2:
            raise ConflictError("two is refused")
        return f"item {n} handled"

    task_id = await start_task(
        db, background, ALICE, clock, kind="test", title="Three items", items=[1, 2, 3], step=step
    )
    await background.aclose()
    task = await get_task(db, ALICE, task_id, clock)
    assert (task.state, task.total, task.done, task.failed) == ("failed", 3, 3, 1)
    assert task.lines == ["item 1 handled", "2: two is refused", "item 3 handled"]
    assert task.message == "Finished: 2 of 3 done, 1 failed."
    assert task.to_json()["done"] is True and task.next_page == f"/tasks/{task_id}"
    # an admin sees it; another user does not
    assert [t.id for t in await recent_tasks(db, ADMIN, clock)] == [task_id]
    assert await recent_tasks(db, Actor("bob", Role.USER), clock) == []
    with pytest.raises(NotFoundError):
        await get_task(db, Actor("bob", Role.USER), task_id, clock)

    # a task that makes one thing and went well leads to its result
    background = Background()
    one = await start_task(
        db,
        background,
        ALICE,
        clock,
        kind="request.acquire",
        title="One",
        items=["x"],
        step=lambda _: asyncio.sleep(0, "ok"),
        location="/requests/7",
    )
    await background.aclose()
    assert (await get_task(db, ALICE, one, clock)).next_page == "/requests/7"

    # a task that never ends (its controller stopped) is shown as interrupted after a while
    background = Background()
    hold = asyncio.Event()

    async def stuck(_: int) -> str:
        await hold.wait()
        return "never"

    stopped = await start_task(
        db, background, ALICE, clock, kind="test", title="Stuck", items=[1], step=stuck
    )
    await asyncio.sleep(0)
    assert (await get_task(db, ALICE, stopped, clock)).state == "running"
    clock.advance(STALE + dt.timedelta(seconds=1))
    view = await get_task(db, ALICE, stopped, clock)
    assert view.state == "interrupted" and "controller stopped" in view.message
    hold.set()
    await background.aclose()
