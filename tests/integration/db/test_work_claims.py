"""Work claims (issue 17 item 5): batches of a round taken once each, leases that run out, hand-back."""

from __future__ import annotations

import asyncio
import datetime as dt

from certmgr.controller.db.engine import Database
from certmgr.controller.scheduler import claims

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)


async def test_round_batches_are_claimed_once_each(db: Database) -> None:
    round_id = await claims.open_round(db, "monitoring", list(range(1, 11)), 4, T0)
    state = await claims.progress(db, round_id)
    assert (state.batches, state.done, state.items) == (3, 0, 10)
    # the same job asks again while the round is open: it is resumed, not doubled
    assert await claims.open_round(db, "monitoring", [99], 4, T0) == round_id

    got = await asyncio.gather(
        *(claims.claim(db, ["monitoring"], f"c{n}", T0, LEASE) for n in range(5))
    )
    taken = [g for g in got if g is not None]
    assert sorted(i for g in taken for i in g.items) == list(range(1, 11))
    assert len({g.id for g in taken}) == 3 and all(g.attempts == 1 for g in taken)
    assert await claims.claim(db, ["monitoring"], "late", T0, LEASE) is None
    assert await claims.claim(db, ["other-job"], "late", T0 + 2 * LEASE, LEASE) is None

    first, second, third = sorted(taken, key=lambda g: g.id)
    holder = {g.id: f"c{got.index(g)}" for g in taken}
    assert await claims.complete(db, first.id, holder[first.id], T0, {"ok": 4})
    # the holder of the second stops cleanly: pending at once, taken by another controller
    assert await claims.hand_back(db, second.id, holder[second.id])
    again = await claims.claim(db, ["monitoring"], "c9", T0, LEASE)
    assert again is not None and again.id == second.id and again.attempts == 2
    assert await claims.complete(db, again.id, "c9", T0, {"ok": 4})
    # the holder of the third dies: its lease must run out before anyone else takes it
    assert await claims.claim(db, ["monitoring"], "c8", T0 + LEASE / 2, LEASE) is None
    assert await claims.extend(db, third.id, holder[third.id], T0 + LEASE / 2, LEASE)
    assert await claims.claim(db, ["monitoring"], "c8", T0 + LEASE, LEASE) is None
    later = T0 + LEASE / 2 + LEASE + dt.timedelta(seconds=1)
    taken_over = await claims.claim(db, ["monitoring"], "c8", later, LEASE)
    assert taken_over is not None and taken_over.id == third.id and taken_over.attempts == 2
    assert taken_over.round_started_at == T0
    # the dead holder's late writes change nothing
    assert not await claims.extend(db, third.id, holder[third.id], later, LEASE)
    assert not await claims.complete(db, third.id, holder[third.id], later, {"ok": 99})
    assert await claims.complete(db, third.id, "c8", later, {"ok": 2})
    state = await claims.progress(db, round_id)
    assert state.finished
    rows = await claims.results(db, round_id)
    assert [(r.done_by, r.result) for r in rows] == [
        (holder[first.id], {"ok": 4}),
        ("c9", {"ok": 4}),
        ("c8", {"ok": 2}),
    ]
    # a finished round makes way for the next one (its rows are cleared)
    nxt = await claims.open_round(db, "monitoring", [1, 2], 4, later)
    assert nxt != round_id
    assert await claims.results(db, round_id) == []


async def test_a_batch_whose_holders_keep_dying_is_closed(db: Database) -> None:
    round_id = await claims.open_round(db, "monitoring", [1, 2, 3], 10, T0)
    now = T0
    for n in range(claims.MAX_ATTEMPTS):
        got = await claims.claim(db, ["monitoring"], f"dies{n}", now, LEASE)
        assert got is not None and got.attempts == n + 1
        now += LEASE + dt.timedelta(seconds=1)
    assert await claims.claim(db, ["monitoring"], "next", now, LEASE) is None
    state = await claims.progress(db, round_id)
    assert state.finished
    assert (await claims.results(db, round_id))[0].result == {"abandoned": 3}


async def test_an_empty_round_is_finished_at_once(db: Database) -> None:
    round_id = await claims.open_round(db, "monitoring", [], 10, T0)
    assert (await claims.progress(db, round_id)).finished
