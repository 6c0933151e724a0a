"""Fail any test during which an event loop was blocked for more than 100 ms, with the offender's stack.

Every loop pytest-asyncio makes (and so every pytest-aiohttp server and client) runs in asyncio
debug mode with ``slow_callback_duration = 0.1``; asyncio then logs "Executing <handle> took N
seconds" for each callback that held the loop longer. A logging handler collects those records
for the test being run, and the test fails at teardown listing each one with:

- where the loop thread was while it was blocked (sampled by a watchdog thread that pings every
  watched loop and reads the loop thread's stack when the ping is late): this names the blocking
  line itself;
- the handle's ``_source_traceback`` (where the callback was scheduled) and, for a task step,
  where the task was created.

Threads (``asyncio.to_thread``, executors) are not the loop and are never reported. A test that
must hold the loop says so with ``@pytest.mark.allow_slow_callbacks(reason="...")``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple, cast

import pytest

SLOW_CALLBACK_SECONDS = 0.1
UNSAMPLED_LIMIT_SECONDS = 1.0
TEST_CODE_LIMIT_SECONDS = 0.5
_ROOT = Path(__file__).resolve().parents[1]
_PRODUCT = tuple(f"{_ROOT / part}/" for part in ("controller", "shared", "agent", "oneclick"))
_PING_INTERVAL = 0.02
_MAX_SAMPLES = 200
_MAX_FRAMES = 30
_MAX_ORIGIN_FRAMES = 12
_MAX_WAITS = 3000  # a minute of run-queue readings
_RUNNER_FIXTURES = frozenset(
    f"_{scope}_scoped_runner" for scope in ("function", "class", "module", "package", "session")
)


class _WaitReading(NamedTuple):
    """The loop thread's total run-queue wait, read at some instant in [earliest, latest]."""

    earliest: float  # time.monotonic() just before the reading
    latest: float  # time.monotonic() just after it
    total: float  # seconds the thread had waited for a CPU so far (waits that had ended)
    runnable: bool  # the thread was running or waiting for a CPU when it was read


@dataclass
class _Watched:
    """One loop the watchdog pings, with the stacks it sampled while the loop was late."""

    loop: asyncio.AbstractEventLoop
    thread_id: int | None = None
    native_id: int | None = None
    ping_sent: float | None = None
    # (the callback the loop was running, the loop thread's stack while it ran it)
    samples: deque[tuple[object, traceback.StackSummary]] = field(
        default_factory=lambda: deque(maxlen=_MAX_SAMPLES)
    )
    waits: deque[_WaitReading] = field(default_factory=lambda: deque(maxlen=_MAX_WAITS))

    def ack(self) -> None:
        self.thread_id = threading.get_ident()
        self.ping_sent = None


class _Watchdog:
    """A daemon thread sampling the stack of any watched loop's thread when it answers late."""

    def __init__(self) -> None:
        self._watched: dict[int, _Watched] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            # pytest-asyncio runs its loops in the thread that sets up the fixture
            self._watched[id(loop)] = _Watched(
                loop, thread_id=threading.get_ident(), native_id=threading.get_native_id()
            )
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="loop-guard-watchdog", daemon=True
                )
                self._thread.start()

    def watched(self, loop: asyncio.AbstractEventLoop) -> _Watched | None:
        """The record of a loop being watched (a slow callback keeps it: the watchdog drops
        the loop once it is closed, which is before the test's teardown looks at it)."""
        with self._lock:
            return self._watched.get(id(loop))

    def stacks_during(self, watched: _Watched, handle: object) -> list[traceback.StackSummary]:
        """Distinct stacks sampled from the loop's thread while it ran ``handle``.

        A sample is taken only if the loop ran the same handle before and after its stack was
        read, and a handle runs once, so this is exactly the handle's own run (no time window).
        """
        with self._lock:
            samples = list(watched.samples)
        seen: dict[str, traceback.StackSummary] = {}
        for running, stack in samples:
            if running is handle:
                seen.setdefault("".join(stack.format()), stack)
        return list(seen.values())

    def runqueue_wait(self, watched: _Watched, start: float, end: float) -> float:
        """Seconds the loop's thread was runnable but not running (no free CPU) in a window.

        A loaded machine (2 cores, xdist workers, servers) can stop a thread in the middle of a
        quick callback; that is not the callback blocking the loop, so it is taken off.
        """
        with self._lock:
            readings = list(watched.waits)
        return _wait_within(readings, start, end)

    def _run(self) -> None:
        while True:
            time.sleep(_PING_INTERVAL)
            with self._lock:
                watched = list(self._watched.values())
                for key in [k for k, w in self._watched.items() if w.loop.is_closed()]:
                    del self._watched[key]
            now = time.monotonic()
            for w in watched:
                self._check(w, now)

    @staticmethod
    def _check(w: _Watched, now: float) -> None:
        reading = _read_wait(w.native_id)
        if reading is not None:
            w.waits.append(reading)
        if w.loop.is_closed() or not w.loop.is_running():
            w.ping_sent = None
            return
        if w.ping_sent is None:
            w.ping_sent = now
            try:
                w.loop.call_soon_threadsafe(w.ack)
            except RuntimeError:  # closed between the check and the call
                w.ping_sent = None
            return
        if now - w.ping_sent < SLOW_CALLBACK_SECONDS / 2 or w.thread_id is None:
            return
        # debug mode names the callback being run: a sample counts only if it is the same one
        # before and after the stack is read (so it cannot show code from after the block)
        running = getattr(w.loop, "_current_handle", None)
        frame = sys._current_frames().get(w.thread_id)
        if frame is None or running is None:
            return
        stack = traceback.extract_stack(frame)
        if getattr(w.loop, "_current_handle", None) is running:
            w.samples.append((running, stack))


def _read_wait(native_id: int | None) -> _WaitReading | None:
    """A thread's total wait for a CPU so far (Linux schedstat; None elsewhere).

    The kernel adds a wait to the total when it ends, so a reading misses a wait under way; the
    thread's state (read first) says whether one can be: not when it was sleeping.
    """
    if native_id is None:
        return None
    earliest = time.monotonic()
    try:
        with open(f"/proc/self/task/{native_id}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        with open(f"/proc/self/task/{native_id}/schedstat", "rb") as f:
            total = int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None
    return _WaitReading(earliest, time.monotonic(), total, runnable=state == b"R")


def _wait_within(readings: list[_WaitReading], start: float, end: float) -> float:
    """Seconds a thread surely waited for a CPU inside [start, end] (a lower bound).

    ``start`` and ``end`` are instants at which the thread was running (it read the clock), so
    no wait spans either. Between a reading ``a`` and a later reading ``b`` the total grew by
    the waits that ended in between. Of those, the ones after ``end`` began after it: together
    at most ``b.latest - end``. The ones before ``start`` began after ``a`` if the thread was
    not waiting at ``a``: at most ``start - a.earliest``; if it may have been (``a.runnable``),
    that wait can be of any length, so such an ``a`` counts only when read inside the window.
    The rest of the growth lies inside the window. So waits just outside the window (a thread
    queued for a CPU right before a block, or after it while the watchdog was held up too)
    never excuse a block, and waits inside it count, up to the readings nearest its edges.
    """
    firsts = [
        r.total + max(0.0, start - r.earliest)
        for r in readings
        if r.earliest >= start or not r.runnable
    ]
    lasts = [r.total - max(0.0, r.latest - end) for r in readings]
    if not firsts or not lasts:
        return 0.0
    return max(0.0, max(lasts) - min(firsts))


@dataclass(frozen=True)
class _SlowCallback:
    """One "Executing <handle> took N seconds" record and what was known when it was logged."""

    message: str
    seconds: float
    started: float  # time.monotonic() when the loop started the callback
    loop: asyncio.AbstractEventLoop | None
    handle: asyncio.Handle | None
    awaiting: traceback.StackSummary | None  # for a task step: where the task waits next
    watched: _Watched | None  # the watchdog's samples for the loop (kept past its closing)

    @property
    def ended(self) -> float:
        return self.started + self.seconds


class _SlowCallbackHandler(logging.Handler):
    """Collects asyncio's slow-callback warnings (logged in the loop thread, inside the callback's run)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[_SlowCallback] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg != "Executing %s took %.3f seconds" or not isinstance(record.args, tuple):
            return
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        handle = getattr(loop, "_current_handle", None)
        task = getattr(getattr(handle, "_callback", None), "__self__", None)
        awaiting = None
        if isinstance(task, asyncio.Task) and not task.done():
            awaiting = traceback.StackSummary.extract((f, f.f_lineno) for f in task.get_stack())
        seconds = float(cast(float, record.args[1]))
        watched = _WATCHDOG.watched(loop) if loop is not None else None
        if watched is not None:
            # the loop thread's own reading, just after the callback (it runs: nothing pending)
            reading = _read_wait(threading.get_native_id())
            if reading is not None:
                watched.waits.append(reading)
        self.records.append(
            _SlowCallback(
                message=record.getMessage(),
                seconds=seconds,
                started=_callback_started(seconds),
                loop=loop,
                handle=handle if isinstance(handle, asyncio.Handle) else None,
                awaiting=awaiting,
                watched=watched,
            )
        )


def _callback_started(seconds: float) -> float:
    """When the loop started the callback being logged: ``t0`` of asyncio's ``_run_once``.

    The callback ended ``seconds`` after it; the log call comes later, and on a loaded host a
    little or a lot later, so "now - seconds" would shift the window past the callback's end.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_run_once" and code.co_filename.endswith("asyncio/base_events.py"):
            t0 = frame.f_locals.get("t0")
            if isinstance(t0, float):
                return t0
            break
        frame = frame.f_back
    return time.monotonic() - seconds


_WATCHDOG = _Watchdog()
_HANDLER = _SlowCallbackHandler()


def _after_loop_machinery(stack: traceback.StackSummary) -> list[traceback.FrameSummary]:
    """The frames above asyncio's own ``Handle._run`` (the callback and what it called)."""
    frames = list(stack)
    for i in range(len(frames) - 1, -1, -1):
        if frames[i].name == "_run" and frames[i].filename.endswith("asyncio/events.py"):
            frames = frames[i + 1 :]
            break
    return frames[-_MAX_FRAMES:]


def _origin(stack: list[traceback.FrameSummary]) -> list[str]:
    """The last frames of a creation stack, without pytest's and pluggy's own."""
    frames = [f for f in stack if "/_pytest/" not in f.filename and "/pluggy/" not in f.filename]
    return traceback.format_list(frames[-_MAX_ORIGIN_FRAMES:])


def _indent(lines: list[str]) -> str:
    return "".join("    " + line for chunk in lines for line in chunk.splitlines(keepends=True))


_GC_SPANS: deque[tuple[float, float]] = deque(maxlen=4096)
_GC_STARTED: list[float] = []


def _gc_callback(phase: str, _info: dict[str, int]) -> None:
    """Note when the garbage collector ran: it stops every thread, the loop's too."""
    now = time.monotonic()
    if phase == "start":
        _GC_STARTED[:] = [now]
    elif _GC_STARTED:
        _GC_SPANS.append((_GC_STARTED.pop(), now))


def _gc_seconds(start: float, end: float) -> float:
    """Seconds of garbage collection inside a window."""
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in list(_GC_SPANS))


def _held_the_loop(slow: _SlowCallback) -> bool:
    """True when code held the loop: not a thread waiting for a CPU, nor an unsampled pause.

    Python code that holds the loop lets the watchdog thread in (the GIL switches every 5 ms),
    so it is sampled. Time the thread waited for a CPU and time the garbage collector ran are
    taken off; a stall with no sample at all (a starved process) counts only when very long.
    """
    if slow.loop is None:
        return True
    watched = slow.watched
    waited = _gc_seconds(slow.started, slow.ended)
    if watched is not None:
        waited += _WATCHDOG.runqueue_wait(watched, slow.started, slow.ended)
    if slow.seconds - waited < SLOW_CALLBACK_SECONDS:
        return False
    sampled = _WATCHDOG.stacks_during(watched, slow.handle) if watched is not None else []
    if not sampled:
        return slow.seconds >= UNSAMPLED_LIMIT_SECONDS
    # certmgr's own code is held to 100 ms; a test's own small set-up step (writing a file,
    # reading a fixture) is held to more, since a loaded disk alone can take 100 ms for it
    if any(_in_product(stack) for stack in sampled):
        return True
    return slow.seconds - waited >= TEST_CODE_LIMIT_SECONDS


def _in_product(stack: traceback.StackSummary) -> bool:
    return any(f.filename.startswith(_PRODUCT) for f in _after_loop_machinery(stack))


def _describe(slow: _SlowCallback) -> str:
    parts = [f"event loop blocked for {slow.seconds:.3f} s: {slow.message}"]
    if slow.watched is not None:
        for stack in _WATCHDOG.stacks_during(slow.watched, slow.handle)[:3]:
            frames = traceback.format_list(_after_loop_machinery(stack))
            parts.append("  the loop thread was here while blocked:\n" + _indent(frames))
    if slow.awaiting:
        parts.append(
            "  after the blocking step the task waited at (the blocking code ran just before):\n"
            + _indent(traceback.format_list(list(slow.awaiting)[-_MAX_FRAMES:]))
        )
    handle = slow.handle
    source = getattr(handle, "_source_traceback", None)
    if source:
        parts.append("  callback scheduled at:\n" + _indent(_origin(source)))
    task = getattr(getattr(handle, "_callback", None), "__self__", None)
    if isinstance(task, asyncio.Task):
        created = getattr(task, "_source_traceback", None)
        if created:
            parts.append(f"  task {task.get_name()} created at:\n" + _indent(_origin(created)))
    return "\n".join(parts)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Generator[None, Any, Any]:
    """Put every pytest-asyncio loop in debug mode with a 100 ms slow-callback threshold."""
    result = yield
    if fixturedef.argname in _RUNNER_FIXTURES and isinstance(result, asyncio.Runner):
        loop = result.get_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
        # Keep debug mode's slow-callback timing, not its stack capture on every handle, future
        # and coroutine: that bookkeeping alone held loops past 100 ms on a loaded 2-core host
        # (the watchdog's samples name the blocking line instead).
        setattr(loop, "get_debug", _not_debug)  # noqa: B010 - an instance override
        sys.set_coroutine_origin_tracking_depth(0)
        _WATCHDOG.watch(loop)
    return result


def _not_debug() -> bool:
    return False


def install_handler() -> None:
    """Attach the collecting handler to the ``asyncio`` logger (once, at configure time)."""
    logger = logging.getLogger("asyncio")
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    if _gc_callback not in gc.callbacks:
        gc.callbacks.append(_gc_callback)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Start the test's window: slow callbacks from now until its teardown count against it."""
    _HANDLER.records.clear()
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test if any loop was blocked longer than the threshold during it."""
    result = yield
    found = [slow for slow in _HANDLER.records if _held_the_loop(slow)]
    _HANDLER.records.clear()
    if not found:
        return result
    marker = item.get_closest_marker("allow_slow_callbacks")
    if marker is not None:
        if not marker.kwargs.get("reason"):
            pytest.fail("allow_slow_callbacks needs reason='...'", pytrace=False)
        return result
    report = "\n\n".join(_describe(slow) for slow in found)
    pytest.fail(
        f"the event loop was blocked longer than {SLOW_CALLBACK_SECONDS * 1000:.0f} ms "
        f"({len(found)} time(s)); move the blocking work to asyncio.to_thread:\n\n{report}",
        pytrace=False,
    )
