"""The scheduler: runs due jobs under their database lease, on a stored task, with an injected clock.

``run_due(now)`` runs every job that is due at ``now`` and returns what happened; tests call it
directly after moving a fake clock. ``start()`` adds the loop (a stored task, cancelled and awaited
by ``aclose()``) that calls the same code every ``tick`` seconds in a server; ``trigger(name)``
runs one job now ("run now") on a stored task. Long jobs run on their own task, so the one-minute
outbox job is never stuck behind a long monitoring run. A job's failure is mapped to a job result
here, in one place, and logged once when it starts failing and once when it recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import JobLease
from certmgr.controller.domain.actors import SYSTEM
from certmgr.controller.scheduler import claims, leases
from certmgr.controller.services.audit import audit
from certmgr.controller.settings import Settings
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import CertmgrError

logger = logging.getLogger(__name__)
BATCH_PARALLEL = 4  # claimed batches a controller works at once


def default_holder() -> str:
    """A replica id that differs between processes: host, process id and a random tag."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class JobContext:
    """What a job gets: the collaborators, who runs it, and a progress callback."""

    db: Database
    vault: MasterKey
    clock: Clock
    settings: Settings | None
    name: str
    holder: str
    progress: Callable[[dict[str, Any]], Awaitable[None]]
    # PostgreSQL: share a round of items between every controller (None: do it all here)
    in_batches: Callable[[Sequence[int]], Awaitable[list[dict[str, Any]]]] | None = None


JobFn = Callable[[JobContext], Awaitable[dict[str, Any]]]
BatchFn = Callable[[JobContext, claims.Claimed], Awaitable[dict[str, Any]]]
NextFn = Callable[[Database, dt.datetime], Awaitable[dt.datetime]]


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job: what it runs, when it is due next, how long its lease lasts."""

    name: str
    title: str
    run: JobFn
    next_run: NextFn
    lease: dt.timedelta = dt.timedelta(minutes=10)
    wakes: tuple[str, ...] = ()  # jobs to make due at once when this one queued messages
    batch: BatchFn | None = None  # works one claimed batch of a shared round (any controller)


@dataclass(frozen=True)
class JobRun:
    """The outcome of one attempt to run a job."""

    name: str
    status: str  # ok | failed | skipped | busy
    summary: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    duration_ms: int = 0


class Scheduler:
    """Runs jobs under leases; one per process (app ``cleanup_ctx`` or a CLI command)."""

    def __init__(
        self,
        db: Database,
        vault: MasterKey,
        clock: Clock,
        jobs: Sequence[JobSpec],
        *,
        settings: Settings | None = None,
        holder: str | None = None,
        tick: float = 15.0,
        batch_size: int | None = None,
        batch_lease: dt.timedelta | None = None,
    ) -> None:
        """Keep the collaborators; nothing runs until :meth:`setup`, :meth:`run_due` or :meth:`start`."""
        self.db, self.vault, self.clock, self.settings = db, vault, clock, settings
        self.jobs = {j.name: j for j in jobs}
        self.holder = holder or default_holder()
        self.tick = tick
        # shared rounds: items per batch, and how long a dead controller's claim blocks its batch
        self.batch_size = batch_size or (settings.scheduler_batch_size if settings else 100)
        self.batch_lease = batch_lease or dt.timedelta(
            seconds=settings.scheduler_batch_lease_seconds if settings else 120
        )
        self.claim_poll = min(tick, 1.0)
        self._batch_lock = asyncio.Lock()
        self._claimer: asyncio.Task[None] | None = None
        self._claim_wake = asyncio.Event()
        self._stopping = False
        self.last_loop_at = 0.0  # time.monotonic() of the loop's last pass (readiness)
        self._tasks: dict[str, asyncio.Task[JobRun]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._failing: set[str] = set()
        self._active: set[str] = set()
        self._ready = False
        self.observer: Callable[[str, dict[str, Any]], None] | None = None

    async def setup(self) -> None:
        """Create missing lease rows, each due at its first scheduled time."""
        now = self.clock.now()
        first = {name: await spec.next_run(self.db, now) for name, spec in self.jobs.items()}
        await leases.ensure_jobs(self.db, first)
        self._ready = True

    async def run_due(self, now: dt.datetime | None = None) -> list[JobRun]:
        """Run every job due at ``now`` (default: the clock) concurrently; return what happened."""
        if not self._ready:
            await self.setup()
        now = now or self.clock.now()
        due = [j.name for j in await leases.all_jobs(self.db) if _due(j, now, self.holder)]
        due = [n for n in due if n in self.jobs]
        if not due:
            return []
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self.run_job(n, now=now)) for n in due]
        return [t.result() for t in tasks]

    async def run_job(
        self, name: str, *, force: bool = False, now: dt.datetime | None = None
    ) -> JobRun:
        """Run one job if its lease can be taken (``force``: even when not due).

        Raises:
            KeyError: No such job.
        """
        spec = self.jobs[name]
        if name in self._active:
            return JobRun(name, "busy", error="already running in this process")
        self._active.add(name)
        try:
            start = now or self.clock.now()
            if not await leases.try_acquire(
                self.db, name, self.holder, start, spec.lease, force=force
            ):
                return JobRun(name, "skipped", error="not due, or running on another replica")
            return await self._execute(spec, start)
        finally:
            self._active.discard(name)

    async def _execute(self, spec: JobSpec, start: dt.datetime) -> JobRun:
        started = time.monotonic()
        last_progress = 0.0

        async def progress(data: dict[str, Any]) -> None:
            nonlocal last_progress
            if self.observer is not None:
                self.observer(spec.name, data)
            if time.monotonic() - last_progress >= 1.0:
                last_progress = time.monotonic()
                await leases.set_progress(self.db, spec.name, self.holder, data)

        ctx = self._context(spec.name, progress)
        if spec.batch is not None and not self.db.is_sqlite:
            ctx.in_batches = lambda items: self._in_batches(spec, items, progress)
        beat = asyncio.create_task(self._heartbeat(spec))
        summary: dict[str, Any] = {}
        error = ""
        try:
            summary = await spec.run(ctx)
        except asyncio.CancelledError:
            await self._abandon(spec)
            raise
        except (CertmgrError, SQLAlchemyError, OSError) as err:
            error = str(err) or err.__class__.__name__
        except Exception as err:  # a bug in one job must not stop the scheduler
            logger.exception("job %s crashed", spec.name)
            error = f"internal error ({err.__class__.__name__}); see the controller log"
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        ms = int((time.monotonic() - started) * 1000)
        result = "failed" if error else "ok"
        self._log_transition(spec.name, error)
        finish = self.clock.now()
        kept = await leases.release(
            self.db,
            spec.name,
            self.holder,
            finish,
            next_run_at=await spec.next_run(self.db, max(finish, start)),
            result=result,
            error=error,
            duration_ms=ms,
            summary={**summary, "finished_at": finish.isoformat()},
        )
        if not kept:
            logger.warning("job %s finished after another replica took its lease over", spec.name)
        if not summary.get("idle"):
            async with self.db.transaction() as s:
                detail = {"holder": self.holder, "result": result, "ms": ms, **summary}
                if error:
                    detail["error"] = error[:500]
                audit(s, SYSTEM, f"job.{spec.name}", "job", spec.name, detail, clock=self.clock)
        if summary.get("enqueued"):
            for other in spec.wakes:
                await leases.request_run(self.db, other, finish)
            self._wake.set()
        return JobRun(spec.name, result, summary, error, ms)

    def _context(
        self, name: str, progress: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> JobContext:
        return JobContext(
            self.db, self.vault, self.clock, self.settings, name, self.holder, progress
        )

    async def _in_batches(
        self,
        spec: JobSpec,
        items: Sequence[int],
        progress: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> list[dict[str, Any]]:
        """Open (or resume) a round of ``items`` that every controller works; wait for its end."""
        round_id = await claims.open_round(
            self.db, spec.name, items, self.batch_size, self.clock.now()
        )
        self._claim_wake.set()
        while True:
            if not self._batch_lock.locked():
                await self.work_batches([spec.name])  # also when no claim loop runs (CLI, tests)
            state = await claims.progress(self.db, round_id)
            await progress(
                {"batches": state.batches, "batches_done": state.done, "total": state.items}
            )
            if state.finished:
                break
            await asyncio.sleep(
                self.claim_poll
            )  # other controllers work; dead ones' leases run out
        return [
            {**b.result, "done_by": b.done_by, "attempts": b.attempts}
            for b in await claims.results(self.db, round_id)
        ]

    async def work_batches(self, jobs: Collection[str]) -> int:
        """Claim and work batches of ``jobs`` until none is left to take here.

        ``BATCH_PARALLEL`` batches run at once (each with that share of the job's concurrency),
        so a batch's last slow checks do not leave the controller idle.

        Returns:
            How many batches this controller finished.
        """
        names = [n for n in jobs if n in self.jobs and self.jobs[n].batch is not None]
        done = 0

        async def lane() -> None:
            nonlocal done
            while not self._stopping:
                got = await claims.claim(
                    self.db, names, self.holder, self.clock.now(), self.batch_lease
                )
                if got is None:
                    return
                await self._work_batch(self.jobs[got.job], got)
                done += 1

        async with self._batch_lock, asyncio.TaskGroup() as tg:
            for _ in range(BATCH_PARALLEL):
                tg.create_task(lane())
        return done

    async def _work_batch(self, spec: JobSpec, got: claims.Claimed) -> None:
        assert spec.batch is not None  # noqa: S101 - only batch jobs are claimed

        async def no_progress(_: dict[str, Any]) -> None:
            return None

        beat = asyncio.create_task(self._extend_claim(got))
        try:
            result = await spec.batch(self._context(spec.name, no_progress), got)
        except asyncio.CancelledError:
            with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
                async with asyncio.timeout(5):
                    await claims.hand_back(self.db, got.id, self.holder)
            raise
        except (CertmgrError, SQLAlchemyError, OSError) as err:
            result = {"error": (str(err) or err.__class__.__name__)[:500]}
        except Exception as err:  # a bug in one batch must not stop the claim loop
            logger.exception("job %s: batch %s crashed", spec.name, got.id)
            result = {"error": f"internal error ({err.__class__.__name__})"}
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        if not await claims.complete(self.db, got.id, self.holder, self.clock.now(), result):
            logger.warning("job %s: batch %s was taken over before it finished", spec.name, got.id)

    async def _extend_claim(self, got: claims.Claimed) -> None:
        every = max(0.2, self.batch_lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            try:
                mine = await claims.extend(
                    self.db, got.id, self.holder, self.clock.now(), self.batch_lease
                )
            except SQLAlchemyError as err:
                logger.warning(
                    "batch %s: cannot extend its claim: %s", got.id, err.__class__.__name__
                )
                continue
            if not mine:
                return

    async def _claim_loop(self) -> None:
        names = [n for n, spec in self.jobs.items() if spec.batch is not None]
        while not self._stopping:
            try:
                await self.work_batches(names)
            except (SQLAlchemyError, OSError) as err:
                logger.debug("claim loop: %s", err.__class__.__name__)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.claim_poll):
                    await self._claim_wake.wait()
            self._claim_wake.clear()

    async def _heartbeat(self, spec: JobSpec) -> None:
        every = max(1.0, spec.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            try:
                mine = await leases.heartbeat(
                    self.db, spec.name, self.holder, self.clock.now(), spec.lease
                )
            except SQLAlchemyError as err:
                logger.warning(
                    "job %s: cannot extend its lease: %s", spec.name, err.__class__.__name__
                )
                continue
            if not mine:
                logger.warning("job %s: the lease was taken over by another replica", spec.name)
                return

    async def _abandon(self, spec: JobSpec) -> None:
        """Give the lease back at shutdown, still due, so another replica can take over at once."""
        with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
            async with asyncio.timeout(5):
                await leases.release(
                    self.db,
                    spec.name,
                    self.holder,
                    self.clock.now(),
                    next_run_at=None,
                    result="interrupted",
                    error="the controller stopped during the run",
                )

    def _log_transition(self, name: str, error: str) -> None:
        if error and name not in self._failing:
            self._failing.add(name)
            logger.warning("job %s failed: %s", name, error)
        elif not error and name in self._failing:
            self._failing.discard(name)
            logger.info("job %s works again", name)

    def trigger(self, name: str) -> bool:
        """Run a job now on a stored task ("run now"); False when it already runs here.

        Raises:
            KeyError: No such job.
        """
        if name not in self.jobs:
            raise KeyError(name)
        running = self._tasks.get(name)
        if running is not None and not running.done():
            return False
        self._spawn(name, force=True)
        return True

    def _spawn(self, name: str, *, force: bool) -> None:
        task = asyncio.create_task(self.run_job(name, force=force), name=f"job:{name}")
        self._tasks[name] = task
        task.add_done_callback(self._reap)

    def _reap(self, task: asyncio.Task[JobRun]) -> None:
        for name, t in list(self._tasks.items()):
            if t is task:
                del self._tasks[name]
        if not task.cancelled() and task.exception() is not None:
            logger.error("job task %s ended with %r", task.get_name(), task.exception())

    def running(self) -> set[str]:
        """Jobs running in this process now."""
        return set(self._active)

    def start(self) -> None:
        """Start the loop on a stored task (call once, from a running event loop)."""
        if self._loop is None:
            self.last_loop_at = time.monotonic()
            self._loop = asyncio.create_task(self._run_loop(), name="scheduler")
        shares = any(spec.batch is not None for spec in self.jobs.values())
        if self._claimer is None and shares and not self.db.is_sqlite:
            self._claimer = asyncio.create_task(self._claim_loop(), name="scheduler-claims")

    def wake(self) -> None:
        """Look for due jobs now instead of at the next tick."""
        self._wake.set()

    async def _run_loop(self) -> None:
        down = False
        while True:
            self.last_loop_at = time.monotonic()
            try:
                if not self._ready:
                    await self.setup()
                now = self.clock.now()
                for job in await leases.all_jobs(self.db):
                    running = self._tasks.get(job.name)
                    if job.name in self.jobs and _due(job, now, self.holder) and running is None:
                        self._spawn(job.name, force=False)
                if down:
                    logger.info("scheduler: the database is reachable again")
                down = False
            except (SQLAlchemyError, OSError) as err:
                if not down:
                    logger.warning(
                        "scheduler: cannot read the job table: %s", err.__class__.__name__
                    )
                down = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick):
                    await self._wake.wait()
            self._wake.clear()

    def alive(self) -> bool:
        """The loop runs and has passed within three ticks (or a minute): due jobs will start."""
        if self._loop is None or self._loop.done():
            return False
        return time.monotonic() - self.last_loop_at < max(60.0, 3 * self.tick)

    async def wait_idle(self) -> None:
        """Wait until no job task of this scheduler runs (tests, CLI)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop the loop and every running job (their leases are handed back, still due)."""
        self._stopping = True
        tasks = [t for t in [self._loop, self._claimer, *self._tasks.values()] if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = self._claimer = None
        if not self.db.is_sqlite:  # batches are shared on PostgreSQL only
            with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
                async with asyncio.timeout(5):
                    await claims.hand_back_all(self.db, self.holder)


def _due(job: JobLease, now: dt.datetime, holder: str) -> bool:
    free = job.lease_until is None or job.lease_until < now or job.holder == holder
    return job.next_run_at is not None and job.next_run_at <= now and free
