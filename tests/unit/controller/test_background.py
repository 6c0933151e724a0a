"""Background work: bounded, failures logged without tracebacks, finished or cancelled at shutdown."""

from __future__ import annotations

import asyncio
import functools
import logging

import pytest

from certmgr.controller.background import Background


async def test_runs_bounded_and_logs_failures(caplog: pytest.LogCaptureFixture) -> None:
    bg = Background(limit=2)
    running = peak = 0
    done: list[int] = []

    async def job(n: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        if n == 3:
            raise ValueError("boom for job 3")
        done.append(n)

    for n in range(6):
        bg.spawn(f"job {n}", functools.partial(job, n))
    assert bg.pending == 6
    with caplog.at_level(logging.ERROR):
        await bg.aclose(timeout=5)
    assert sorted(done) == [0, 1, 2, 4, 5] and peak == 2 and bg.pending == 0
    [record] = [r for r in caplog.records if "job 3 failed" in r.getMessage()]
    assert "ValueError: boom for job 3" in record.getMessage() and record.exc_info is None


async def test_shutdown_cancels_what_does_not_finish() -> None:
    bg = Background()
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    bg.spawn("forever", forever)
    await asyncio.sleep(0)
    await bg.aclose(timeout=0.05)
    assert cancelled.is_set() and bg.pending == 0
