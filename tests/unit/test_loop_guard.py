"""Guard test: a test that blocks its event loop fails, naming the blocking line; threads do not count."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

from tests.loop_guard import (
    _held_the_loop,
    _SlowCallback,
    _SlowCallbackHandler,
    _wait_within,
    _WaitReading,
    _Watched,
)

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
from tests.loop_guard import (  # noqa: F401
    install_handler, pytest_fixture_setup, pytest_runtest_setup, pytest_runtest_teardown,
)

def pytest_configure(config):
    install_handler()
"""

TESTS = """
import asyncio
import time

import pytest


def hold_the_loop():
    time.sleep(0.6)


async def test_blocks():
    hold_the_loop()


@pytest.fixture
def teardown_after_the_loop():
    yield
    time.sleep(0.2)  # the loop is closed by now: the watchdog drops it before the guard looks


async def test_blocks_then_slow_teardown(teardown_after_the_loop):
    hold_the_loop()


async def test_thread_is_fine():
    await asyncio.to_thread(time.sleep, 0.3)


@pytest.mark.allow_slow_callbacks(reason="measures a blocking call on purpose")
async def test_exempt():
    time.sleep(0.6)


async def test_short_blocks_are_fine():
    for _ in range(3):
        time.sleep(0.005)  # far below the 100 ms limit even on a loaded host
        await asyncio.sleep(0)
"""


def test_blocked_loop_fails_with_the_offenders_stack(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_guarded.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    allow_slow_callbacks(reason): may block\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q", "-rE"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "5 passed, 2 errors" in out, out
    assert "ERROR test_guarded.py::test_blocks -" in out, out
    assert "ERROR test_guarded.py::test_blocks_then_slow_teardown -" in out, out
    reports = out.split("ERROR at teardown of ")[1:]
    assert len(reports) == 2, out
    for report in reports:
        assert "the event loop was blocked longer than 100 ms" in report, out
        # the watchdog's sample names the blocking line itself, not just the task
        assert "in hold_the_loop" in report, out
        assert "time.sleep(0.6)" in report, out


# Synthetic watchdog readings for a callback that ran from 10.0 to 10.6 (time.monotonic()).
START, END = 10.0, 10.6


def _reading(at: float, total: float, *, runnable: bool = True) -> _WaitReading:
    return _WaitReading(earliest=at, latest=at + 0.001, total=total, runnable=runnable)


def _during_block(total: float) -> list[_WaitReading]:
    """The watchdog's readings every 20 ms while the loop thread sleeps in the callback."""
    return [_reading(START + 0.02 * i, total, runnable=False) for i in range(1, 30)]


def _slow(seconds: float, readings: list[_WaitReading]) -> _SlowCallback:
    """A slow-callback record whose loop is closed and no longer watched, as at teardown."""
    loop = asyncio.new_event_loop()
    loop.close()
    handle = asyncio.Handle(print, (), loop)
    watched = _Watched(loop)
    watched.waits.extend(readings)
    product_code = str(ROOT / "controller" / "blocking.py")
    watched.samples.append(
        (handle, traceback.StackSummary.from_list([(product_code, 1, "block", "block()")]))
    )
    return _SlowCallback("Executing <Handle> took", seconds, START, loop, handle, None, watched)


def test_a_wait_for_a_cpu_after_the_block_is_not_taken_off() -> None:
    """The loop thread queued 0.55 s for a CPU after the block, before the watchdog's next
    reading (the watchdog was held up too): that wait is outside the block and excuses nothing.
    The old guard subtracted everything between the readings around the block."""
    readings = [_reading(START - 0.01, 1.0), *_during_block(1.0), _reading(END + 0.6, 1.55)]
    assert _wait_within(readings, START, END) == 0.0
    assert _held_the_loop(_slow(END - START, readings))


def test_a_wait_for_a_cpu_ending_just_before_the_block_is_not_taken_off() -> None:
    """The loop thread was queued for a CPU when the watchdog read it just before the block;
    that 0.6 s wait ended (and was added to the total) just before the block started."""
    readings = [_reading(START - 0.02, 1.0), *_during_block(1.6), _reading(END + 0.01, 1.6)]
    assert _wait_within(readings, START, END) == 0.0
    assert _held_the_loop(_slow(END - START, readings))


def test_a_wait_for_a_cpu_inside_the_callback_is_taken_off() -> None:
    """A quick callback the machine stopped for 0.25 s of its 0.3 s is not a block."""
    readings = [
        _reading(START - 0.01, 1.0, runnable=False),  # asleep in the selector: nothing pending
        _reading(START + 0.02, 1.0),
        _reading(START + 0.28, 1.25),
        _reading(START + 0.3, 1.27),  # the loop thread's own, as the callback is logged
    ]
    assert 0.26 <= _wait_within(readings, START, START + 0.3) <= 0.27
    assert not _held_the_loop(_slow(0.3, readings))
    # a wait ending inside the window counts even with no reading inside: the thread slept
    # at the reading before it, so that wait began at most 10 ms before the window
    around = [readings[0], _reading(START + 0.3, 1.27)]
    assert 0.25 <= _wait_within(around, START, START + 0.3) <= 0.26


def test_a_slow_callback_is_timed_from_its_own_start_not_from_its_log_line() -> None:
    """The window is the callback's own run: the log line can come much later (formatting
    the handle, a loaded host), and that time is not in the window."""
    marks: dict[str, float] = {}

    class SlowRepr:
        def __repr__(self) -> str:  # formatting the handle for the log line takes 0.2 s
            marks.setdefault("logging", time.monotonic())
            time.sleep(0.2)
            return "SlowRepr()"

    def callback(_: SlowRepr) -> None:
        marks["first"] = time.monotonic()
        time.sleep(0.06)
        marks["last"] = time.monotonic()

    handler = _SlowCallbackHandler()
    logger = logging.getLogger("asyncio")
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.05
    logger.addHandler(handler)
    try:
        loop.call_soon(callback, SlowRepr())
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        logger.removeHandler(handler)
        loop.close()
    [slow] = [r for r in handler.records if "SlowRepr" in r.message]
    assert slow.started <= marks["first"] < marks["last"] <= slow.ended <= marks["logging"]
