"""Job leases in the database: each scheduled job runs on exactly one replica at a time.

A job is one ``job_leases`` row. A replica takes the job with a single conditional UPDATE::

    UPDATE job_leases SET holder = :me, lease_until = :now + :lease, ...
     WHERE name = :job
       AND next_run_at <= :now                                   -- due (unless forced)
       AND (lease_until IS NULL OR lease_until < :now OR holder = :me)

and owns it when exactly one row changed. PostgreSQL re-checks the WHERE clause after a
concurrent writer commits (READ COMMITTED), SQLite serialises writers, so two replicas never both
see rowcount 1. The holder extends ``lease_until`` while it works (heartbeat) and on release clears
the lease and moves ``next_run_at`` forward; a holder that crashed simply stops extending, its
lease runs out, and the next replica whose clock passes ``lease_until`` takes the job over
(``next_run_at`` was never moved, so the job is still due). Every time comes from the caller, so
tests drive leases with a fake clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import JobLease


def _rowcount(result: object) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


async def ensure_jobs(db: Database, first_runs: Mapping[str, dt.datetime]) -> None:
    """Create the lease row of every job that has none (replicas may race: the first one wins)."""
    values = [
        {
            "name": name,
            "holder": "",
            "next_run_at": at,
            "last_result": "",
            "last_error": "",
            "last_duration_ms": 0,
            "runs": 0,
            "failures": 0,
            "progress": {},
        }
        for name, at in first_runs.items()
    ]
    if not values:
        return
    insert = sqlite_insert if db.is_sqlite else pg_insert
    stmt = insert(JobLease).values(values).on_conflict_do_nothing(index_elements=["name"])
    async with db.transaction() as s:
        await s.execute(stmt)


async def try_acquire(
    db: Database,
    name: str,
    holder: str,
    now: dt.datetime,
    lease: dt.timedelta,
    *,
    force: bool = False,
) -> bool:
    """Take the job's lease if it is due (or ``force``) and free, expired or already ours.

    Returns:
        True when this holder now owns the job.
    """
    stmt = (
        update(JobLease)
        .where(
            JobLease.name == name,
            or_(
                JobLease.lease_until.is_(None),
                JobLease.lease_until < now,
                JobLease.holder == holder,
            ),
        )
        .values(
            holder=holder,
            lease_until=now + lease,
            last_started_at=now,
            progress={"started_at": now.isoformat(), "holder": holder},
        )
        .execution_options(synchronize_session=False)
    )
    if not force:
        stmt = stmt.where(JobLease.next_run_at <= now)
    async with db.transaction() as s:
        return _rowcount(await s.execute(stmt)) == 1


async def heartbeat(
    db: Database, name: str, holder: str, now: dt.datetime, lease: dt.timedelta
) -> bool:
    """Extend our lease; False when it is no longer ours (taken over after it ran out)."""
    stmt = (
        update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder, JobLease.lease_until.is_not(None))
        .values(lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as s:
        return _rowcount(await s.execute(stmt)) == 1


async def set_progress(db: Database, name: str, holder: str, progress: dict[str, Any]) -> None:
    """Store the running job's progress (only while we hold it)."""
    stmt = (
        update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder)
        .values(progress=progress)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as s:
        await s.execute(stmt)


async def release(
    db: Database,
    name: str,
    holder: str,
    now: dt.datetime,
    *,
    next_run_at: dt.datetime | None,
    result: str,
    error: str = "",
    duration_ms: int = 0,
    summary: dict[str, Any] | None = None,
) -> bool:
    """Give the lease back and record the run.

    Args:
        db: The database.
        name: The job.
        holder: Us.
        now: Finish time.
        next_run_at: When the job is due next; None keeps it (an interrupted run is still due).
        result: ``ok``, ``failed`` or ``interrupted`` (interrupted runs are not counted).
        error: The failure, in plain words.
        duration_ms: How long the run took.
        summary: What the run did (kept as the job's last progress).

    Returns:
        False when the lease was no longer ours (another replica took the job over).
    """
    values: dict[str, Any] = {
        "holder": "",
        "lease_until": None,
        "last_finished_at": now,
        "last_result": result,
        "last_error": error[:4000],
        "last_duration_ms": duration_ms,
        "progress": summary or {},
    }
    if result != "interrupted":
        values["runs"] = JobLease.runs + 1
        values["failures"] = JobLease.failures + (1 if result == "failed" else 0)
    if next_run_at is not None:
        values["next_run_at"] = next_run_at
    stmt = (
        update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as s:
        return _rowcount(await s.execute(stmt)) == 1


async def request_run(db: Database, name: str, now: dt.datetime) -> None:
    """Make a job due now on whichever replica looks first ("run now")."""
    stmt = (
        update(JobLease)
        .where(
            JobLease.name == name, or_(JobLease.next_run_at.is_(None), JobLease.next_run_at > now)
        )
        .values(next_run_at=now)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as s:
        await s.execute(stmt)


async def reschedule(db: Database, name: str, at: dt.datetime) -> None:
    """Move a job's next run (after its schedule changed)."""
    stmt = (
        update(JobLease)
        .where(JobLease.name == name)
        .values(next_run_at=at)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as s:
        await s.execute(stmt)


async def all_jobs(db: Database) -> list[JobLease]:
    """Every job's lease row, by name."""
    async with db.reader() as s:
        return list((await s.execute(select(JobLease).order_by(JobLease.name))).scalars())
