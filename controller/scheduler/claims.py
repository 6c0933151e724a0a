"""Work claims: a job round's items in batches that any controller may take, each under a lease.

The controller holding a job's lease (``leases.py``) opens a *round*: the items (deployment ids)
split into ``work_batches`` rows, ``pending``. Every controller's scheduler claims pending batches,
one at a time, and works them; so N controllers do about N times the work of one. A claim::

    SELECT id FROM work_batches
     WHERE job IN (...) AND (state = 'pending' OR (state = 'claimed' AND lease_until < :now))
     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED

then marks the row ``claimed`` by us until ``now + lease``, in the same transaction. On PostgreSQL
two controllers never lock the same row (SKIP LOCKED passes over it); SQLite, which has no row
locks, serialises writers, and the UPDATE repeats the WHERE clause and must change one row.
The holder extends its lease while it works; a controller that dies stops extending, the lease
runs out and the next controller that looks takes the batch over (``attempts`` + 1). The batch
function then leaves out the items already done in this round (their results were stored
before the crash), so nothing is done twice. A controller that stops cleanly hands its batch
back (``pending`` at once). Every time comes from the caller, so tests drive claims with a fake
clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import WorkBatch

MAX_ATTEMPTS = 3  # a batch whose holder died this often is closed as abandoned, not retried again


@dataclass(frozen=True)
class Claimed:
    """A batch this controller holds now."""

    id: int
    job: str
    round: str
    round_started_at: dt.datetime
    items: list[int]
    attempts: int  # 1 on the first take; more when a dead holder's lease ran out


@dataclass(frozen=True)
class RoundProgress:
    """How far a round is."""

    batches: int
    done: int
    items: int

    @property
    def finished(self) -> bool:
        """Every batch is done."""
        return self.done >= self.batches


def _rowcount(result: object) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _claimable(now: dt.datetime) -> Any:
    return or_(
        WorkBatch.state == "pending",
        and_(WorkBatch.state == "claimed", WorkBatch.lease_until < now),
    )


async def open_round(
    db: Database, job: str, items: Sequence[int], batch_size: int, now: dt.datetime
) -> str:
    """Split ``items`` into batches of a new round of ``job``, or resume the job's unfinished round.

    A round left unfinished (its coordinator died) is resumed as it is: its items were chosen
    then, and some are done. Finished rounds of the job are deleted.

    Returns:
        The round id.
    """
    async with db.transaction() as s:
        open_rounds = (
            await s.execute(
                select(WorkBatch.round)
                .where(WorkBatch.job == job, WorkBatch.state != "done")
                .limit(1)
            )
        ).scalar_one_or_none()
        if open_rounds is not None:
            return open_rounds
        await s.execute(
            delete(WorkBatch)
            .where(WorkBatch.job == job)
            .execution_options(synchronize_session=False)
        )
        round_id = uuid.uuid4().hex
        size = max(1, batch_size)
        ordered = list(items)
        s.add_all(
            WorkBatch(
                job=job,
                round=round_id,
                round_started_at=now,
                items=ordered[i : i + size],
                state="pending",
                holder="",
                attempts=0,
                done_by="",
                result={},
                created_at=now,
            )
            for i in range(0, len(ordered), size)
        )
        return round_id


async def claim(
    db: Database, jobs: Sequence[str], holder: str, now: dt.datetime, lease: dt.timedelta
) -> Claimed | None:
    """Take the oldest claimable batch of ``jobs`` (pending, or its holder's lease ran out).

    Returns:
        The batch, now ours until ``now + lease``; None when there is nothing to take.
    """
    if not jobs:
        return None
    while True:
        async with db.transaction() as s:
            stmt = (
                select(WorkBatch)
                .where(WorkBatch.job.in_(list(jobs)), _claimable(now))
                .order_by(WorkBatch.id)
                .limit(1)
            )
            if not db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            row = (await s.execute(stmt)).scalar_one_or_none()
            if row is None:
                return None
            batch_id, attempts = row.id, row.attempts
            if attempts >= MAX_ATTEMPTS:
                taken = await s.execute(
                    update(WorkBatch)
                    .where(WorkBatch.id == batch_id, _claimable(now))
                    .values(
                        state="done",
                        holder="",
                        lease_until=None,
                        finished_at=now,
                        result={"abandoned": len(row.items)},
                    )
                    .execution_options(synchronize_session=False)
                )
                continue
            taken = await s.execute(
                update(WorkBatch)
                .where(WorkBatch.id == batch_id, _claimable(now))
                .values(
                    state="claimed",
                    holder=holder,
                    lease_until=now + lease,
                    attempts=WorkBatch.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if _rowcount(taken) != 1:
                continue  # another controller took it between our read and our write (SQLite)
            return Claimed(
                batch_id,
                row.job,
                row.round,
                row.round_started_at,
                [int(i) for i in row.items],
                attempts + 1,
            )


async def _update_ours(db: Database, batch_id: int, owner: str, **values: Any) -> bool:
    """Change our claimed batch; False when it is no longer ours (taken over, or done)."""
    stmt = (
        update(WorkBatch)
        .where(WorkBatch.id == batch_id, WorkBatch.holder == owner, WorkBatch.state == "claimed")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as s:
        return _rowcount(await s.execute(stmt)) == 1


async def extend(
    db: Database, batch_id: int, holder: str, now: dt.datetime, lease: dt.timedelta
) -> bool:
    """Extend our claim (heartbeat); False when the batch is no longer ours."""
    return await _update_ours(db, batch_id, holder, lease_until=now + lease)


async def complete(
    db: Database, batch_id: int, holder: str, now: dt.datetime, result: dict[str, Any]
) -> bool:
    """Mark our batch done with its result; False when it was no longer ours."""
    return await _update_ours(
        db,
        batch_id,
        holder,
        state="done",
        holder="",
        lease_until=None,
        done_by=holder,
        finished_at=now,
        result=result,
    )


async def hand_back(db: Database, batch_id: int, holder: str) -> bool:
    """Give our batch back, pending at once (a clean stop); its done items are skipped later."""
    return await _update_ours(db, batch_id, holder, state="pending", holder="", lease_until=None)


async def hand_back_all(db: Database, holder: str) -> int:
    """Give back every batch ``holder`` still claims (a clean stop); how many there were.

    A claim that committed just as the stop cancelled its lane has no batch worker to hand it
    back; without this it would wait for its lease to run out before another controller took it.
    """
    stmt = (
        update(WorkBatch)
        .where(WorkBatch.holder == holder, WorkBatch.state == "claimed")
        .values(state="pending", holder="", lease_until=None)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as s:
        return _rowcount(await s.execute(stmt))


async def progress(db: Database, round_id: str) -> RoundProgress:
    """Batches of the round, how many are done, and how many items it has."""
    async with db.reader() as s:
        rows = (
            await s.execute(
                select(WorkBatch.state, func.count())
                .where(WorkBatch.round == round_id)
                .group_by(WorkBatch.state)
            )
        ).all()
        items = (
            await s.execute(select(WorkBatch.items).where(WorkBatch.round == round_id))
        ).scalars()
        n_items = sum(len(i) for i in items)
    counts = {state: int(n) for state, n in rows}
    return RoundProgress(sum(counts.values()), counts.get("done", 0), n_items)


async def results(db: Database, round_id: str) -> list[WorkBatch]:
    """The round's batches, by id (their ``result`` and ``done_by``)."""
    async with db.reader() as s:
        return list(
            (
                await s.execute(
                    select(WorkBatch).where(WorkBatch.round == round_id).order_by(WorkBatch.id)
                )
            ).scalars()
        )
