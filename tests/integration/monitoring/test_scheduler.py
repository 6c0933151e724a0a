"""Job leases on SQLite and PostgreSQL: exactly once across schedulers, takeover after a crash,
failures recorded, interrupted runs handed back; time from a FakeClock only."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from certmgr.controller.db.engine import Database
from certmgr.controller.scheduler import leases
from certmgr.controller.scheduler.runner import JobContext, JobSpec, Scheduler
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import FakeClock
from certmgr.shared.errors import UpstreamError

START = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)


class Counter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    def job(self, name: str, *, fail: bool = False, pause: float = 0.05) -> JobSpec:
        async def run(ctx: JobContext) -> dict[str, Any]:
            self.calls.append((name, ctx.holder))
            await ctx.progress({"total": 2, "done": 1})
            await asyncio.sleep(pause)
            await self.gate.wait()
            if fail:
                raise UpstreamError("the CA said no")
            return {"did": name}

        async def first(db: Database, now: dt.datetime) -> dt.datetime:
            return START + dt.timedelta(minutes=1)

        async def later(db: Database, now: dt.datetime) -> dt.datetime:
            return now + dt.timedelta(hours=1) if now > START else await first(db, now)

        return JobSpec(name, name.title(), run, later, lease=dt.timedelta(minutes=5))


async def _jobs(db: Database) -> dict[str, Any]:
    return {j.name: j for j in await leases.all_jobs(db)}


async def test_two_schedulers_run_each_due_job_once(
    database_url: str, db: Database, vault: MasterKey
) -> None:
    counter = Counter()
    specs = [counter.job("a"), counter.job("b"), counter.job("c", fail=True)]
    clock = FakeClock(START)
    other_db = Database(database_url)  # a second engine, as a second replica has
    one = Scheduler(db, vault, clock, specs, holder="replica-1")
    two = Scheduler(other_db, vault, clock, specs, holder="replica-2")
    try:
        await asyncio.gather(one.setup(), two.setup())
        assert list(await asyncio.gather(one.run_due(), two.run_due())) == [
            [],
            [],
        ]  # nothing due yet
        clock.advance(dt.timedelta(minutes=1))
        runs_one, runs_two = await asyncio.gather(one.run_due(), two.run_due())
        ran = [r for r in [*runs_one, *runs_two] if r.status in ("ok", "failed")]
        assert sorted(r.name for r in ran) == ["a", "b", "c"]
        assert sorted(name for name, _ in counter.calls) == ["a", "b", "c"]
        rows = await _jobs(db)
        assert [rows[n].runs for n in "abc"] == [1, 1, 1]
        assert (rows["c"].failures, rows["c"].last_result) == (1, "failed")
        assert rows["c"].last_error == "the CA said no"
        assert all(rows[n].holder == "" and rows[n].lease_until is None for n in "abc")
        assert rows["a"].next_run_at == clock.now() + dt.timedelta(hours=1)
        assert rows["a"].progress["did"] == "a"
        # the same moment again: nothing is due any more, on either replica
        assert [r for r in await one.run_due() + await two.run_due() if r.status == "ok"] == []
    finally:
        await other_db.dispose()


async def test_a_crashed_holder_is_taken_over_after_its_lease(
    db: Database, vault: MasterKey
) -> None:
    counter = Counter()
    spec = counter.job("monitoring")
    clock = FakeClock(START)
    survivor = Scheduler(db, vault, clock, [spec], holder="survivor")
    await survivor.setup()
    clock.advance(dt.timedelta(minutes=2))
    assert await leases.try_acquire(db, "monitoring", "crashed", clock.now(), spec.lease)
    assert await survivor.run_due() == []  # leased elsewhere: not even tried
    assert (await survivor.run_job("monitoring")).status == "skipped"
    assert counter.calls == []
    clock.advance(spec.lease - dt.timedelta(seconds=1))
    assert await survivor.run_due() == []  # still leased
    clock.advance(dt.timedelta(seconds=2))
    (run,) = await survivor.run_due()
    assert run.status == "ok" and counter.calls == [("monitoring", "survivor")]
    row = (await _jobs(db))["monitoring"]
    assert row.runs == 1 and row.holder == ""
    # the crashed holder's late release changes nothing
    assert not await leases.release(
        db, "monitoring", "crashed", clock.now(), next_run_at=None, result="ok"
    )


async def test_a_restarted_replica_retakes_its_own_lease_and_stop_hands_it_back(
    db: Database, vault: MasterKey
) -> None:
    counter = Counter()
    spec = counter.job("renewal")
    clock = FakeClock(START + dt.timedelta(minutes=5))
    first = Scheduler(db, vault, clock, [spec], holder="replica-x")
    await first.setup()
    await leases.reschedule(db, "renewal", clock.now())
    assert await leases.try_acquire(db, "renewal", "replica-x", clock.now(), spec.lease)
    again = Scheduler(db, vault, clock, [spec], holder="replica-x")  # same id after a restart
    (run,) = await again.run_due()
    assert run.status == "ok"

    # a run cut short by shutdown gives the lease back, still due, for another replica
    await leases.reschedule(db, "renewal", clock.now())
    counter.gate.clear()
    runner = Scheduler(db, vault, clock, [spec], holder="stopping", tick=0.05)
    await runner.setup()
    runner.start()
    for _ in range(300):
        row = (await _jobs(db))["renewal"]
        if row.progress.get("total"):
            break
        await asyncio.sleep(0.01)
    assert row.holder == "stopping" and row.progress == {"total": 2, "done": 1}
    await runner.aclose()
    row = (await _jobs(db))["renewal"]
    assert (row.holder, row.last_result, row.runs) == ("", "interrupted", 1)
    assert row.next_run_at is not None and row.next_run_at <= clock.now()
    counter.gate.set()
    (run,) = await Scheduler(db, vault, clock, [spec], holder="peer").run_due()
    assert run.status == "ok" and (await _jobs(db))["renewal"].runs == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_trigger_runs_now_and_refuses_a_second_concurrent_run(
    db: Database, vault: MasterKey
) -> None:
    counter = Counter()
    counter.gate.clear()
    clock = FakeClock(START)
    s = Scheduler(db, vault, clock, [counter.job("digest")], holder="me")
    await s.setup()
    assert s.trigger("digest") is True
    assert s.trigger("digest") is False
    for _ in range(200):
        if counter.calls:
            break
        await asyncio.sleep(0.01)
    busy = await s.run_job("digest", force=True)
    assert busy.status == "busy"
    counter.gate.set()
    await s.wait_idle()
    assert (await _jobs(db))["digest"].runs == 1
    with pytest.raises(KeyError):
        s.trigger("nope")
    await s.aclose()
