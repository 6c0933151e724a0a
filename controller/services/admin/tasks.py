"""Long work started from the console, run in the background with its progress in the database.

A bulk check, a bulk renewal, an issuer change, an ACME order or a package build can take longer
than a page should wait. The handler starts a task and redirects to its page; the page polls the
task's progress (every second, as Monitor Control polls its jobs) and shows the result when done.
Progress lives in the database, so any replica answers the poll and the task stays listed if the
person navigates away. A task not heard from for :data:`STALE` (its controller stopped) is shown
as interrupted.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select

from certmgr.controller.background import Background
from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import ConsoleTask
from certmgr.controller.domain.actors import Actor, Role
from certmgr.shared.clock import Clock
from certmgr.shared.errors import CertmgrError, NotFoundError, PermissionDeniedError

T = TypeVar("T")
STALE = dt.timedelta(minutes=10)
OPENS_RESULT = frozenset({"request.acquire", "deployment.package"})
"""Kinds of task whose page, when done, opens the result itself (one request, one package)."""
MAX_LINES = 500
_WRITE_EVERY = 1.0  # seconds between progress writes while items go quickly


@dataclass(frozen=True)
class TaskView:
    """A task as its page and its status poll show it."""

    id: int
    kind: str
    title: str
    actor: str
    state: str
    total: int
    done: int
    failed: int
    message: str
    lines: list[str]
    location: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def finished(self) -> bool:
        """No more progress will come."""
        return self.state != "running"

    @property
    def next_page(self) -> str:
        """Where the page goes when the task ends.

        A task that makes one thing (an ACME order, a package) and went well opens it;
        otherwise the task page lists what happened.
        """
        if self.state == "done" and self.kind in OPENS_RESULT and self.location:
            return self.location
        return f"/tasks/{self.id}"

    def to_json(self) -> dict[str, object]:
        """The poll's answer (the shape Monitor Control's job status has)."""
        return {
            "state": self.state,
            "message": self.message,
            "done": self.finished,
            "location": self.next_page,
            "total": self.total,
            "handled": self.done,
            "failed": self.failed,
        }


def _view(row: ConsoleTask, now: dt.datetime) -> TaskView:
    state, message = row.state, row.message
    if state == "running" and now - row.updated_at > STALE:
        state = "interrupted"
        message = f"Interrupted after {row.done} of {row.total}: the controller stopped."
    return TaskView(
        row.id,
        row.kind,
        row.title,
        row.actor,
        state,
        row.total,
        row.done,
        row.failed,
        message,
        [str(x) for x in row.lines],
        row.location,
        row.created_at,
        row.finished_at,
    )


async def get_task(db: Database, actor: Actor, task_id: int, clock: Clock) -> TaskView:
    """One task (an admin sees everybody's, a user their own).

    Raises:
        NotFoundError: No such task, or another user's.
    """
    async with db.reader() as s:
        row = await s.get(ConsoleTask, task_id)
    if row is None or (row.actor != actor.name and actor.role is not Role.ADMIN):
        raise NotFoundError(f"no task {task_id}")
    return _view(row, clock.now())


async def recent_tasks(db: Database, actor: Actor, clock: Clock, limit: int = 50) -> list[TaskView]:
    """The newest tasks (an admin: everybody's)."""
    stmt = select(ConsoleTask).order_by(ConsoleTask.id.desc()).limit(limit)
    if actor.role is not Role.ADMIN:
        stmt = stmt.where(ConsoleTask.actor == actor.name)
    async with db.reader() as s:
        rows = (await s.execute(stmt)).scalars().all()
    now = clock.now()
    return [_view(r, now) for r in rows]


async def _save(db: Database, task_id: int, **values: Any) -> None:
    async with db.transaction() as s:
        row = await s.get(ConsoleTask, task_id)
        if row is not None:
            for k, v in values.items():
                setattr(row, k, v)


async def start_task(
    db: Database,
    background: Background,
    actor: Actor,
    clock: Clock,
    *,
    kind: str,
    title: str,
    items: Sequence[T],
    step: Callable[[T], Awaitable[str]],
    location: str = "",
) -> int:
    """Record a task and run ``step`` on each item in the background; returns the task's id.

    ``step`` returns a sentence on what it did with the item; a :class:`CertmgrError` it raises
    counts the item as failed, with the error's words as its sentence. Progress is written at
    most once a second (and at the end), so thousands of quick items cost few writes.
    """
    now = clock.now()
    async with db.transaction() as s:
        row = ConsoleTask(
            kind=kind,
            title=title[:200],
            actor=actor.name,
            state="running",
            total=len(items),
            message=f"Starting: 0 of {len(items)} done.",
            lines=[],
            location=location[:500],
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        await s.flush()
        task_id = row.id

    async def run() -> None:
        done = failed = 0
        lines: list[str] = []
        last_write = time.monotonic()
        try:
            for item in items:
                try:
                    lines.append(await step(item))
                except PermissionDeniedError:
                    raise
                except CertmgrError as err:
                    failed += 1
                    lines.append(f"{item}: {err}"[:500])
                done += 1
                if time.monotonic() - last_write >= _WRITE_EVERY:
                    last_write = time.monotonic()
                    await _save(
                        db,
                        task_id,
                        done=done,
                        failed=failed,
                        lines=lines[-MAX_LINES:],
                        message=f"Running: {done} of {len(items)} done, {failed} failed.",
                        updated_at=clock.now(),
                    )
        except Exception as err:  # noqa: BLE001 - the task must end recorded, whatever broke
            await _save(
                db,
                task_id,
                state="failed",
                done=done,
                failed=failed + 1,
                lines=lines[-MAX_LINES:],
                # only the kind of error: an unexpected one's text can quote SQL parameters
                message=(
                    f"Stopped after {done} of {len(items)} by an internal error "
                    f"({type(err).__name__}); the controller's log has the details."
                ),
                updated_at=clock.now(),
                finished_at=clock.now(),
            )
            raise
        await _save(
            db,
            task_id,
            state="failed" if failed else "done",
            done=done,
            failed=failed,
            lines=lines[-MAX_LINES:],
            message=f"Finished: {done - failed} of {len(items)} done"
            + (f", {failed} failed." if failed else "."),
            updated_at=clock.now(),
            finished_at=clock.now(),
        )

    background.spawn(f"task {task_id} ({kind})", run)
    return task_id
