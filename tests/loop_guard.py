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
from typing import Any, cast

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


@dataclass
class _Watched:
    """One loop the watchdog pings, with the stacks it sampled while the loop was late."""

    loop: asyncio.AbstractEventLoop
    thread_id: int | None = None
    native_id: int | None = None
    ping_sent: float | None = None
    samples: deque[tuple[float, object, traceback.StackSummary]] = field(
        default_factory=lambda: deque(maxlen=_MAX_SAMPLES)
    )
    # (time.monotonic(), seconds the loop thread had waited for a CPU so far): see _runqueue_wait
    waits: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=_MAX_WAITS))

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

    def stacks_during(
        self, loop: asyncio.AbstractEventLoop, handle: object, start: float, end: float
    ) -> list[traceback.StackSummary]:
        """Distinct stacks sampled from the loop's thread while it ran ``handle``."""
        with self._lock:
            watched = self._watched.get(id(loop))
            samples = list(watched.samples) if watched is not None else []
        seen: dict[str, traceback.StackSummary] = {}
        for at, running, stack in samples:
            if running is handle and start <= at <= end:
                seen.setdefault("".join(stack.format()), stack)
        return list(seen.values())

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

    def runqueue_wait(self, loop: asyncio.AbstractEventLoop, start: float, end: float) -> float:
        """Seconds the loop's thread was runnable but not running (no free CPU) in a window.

        A loaded machine (2 cores, xdist workers, servers) can stop a thread in the middle of a
        quick callback; that is not the callback blocking the loop, so it is taken off.
        """
        with self._lock:
            watched = self._watched.get(id(loop))
            waits = list(watched.waits) if watched is not None else []
            native_id = watched.native_id if watched is not None else None
        before = [w for at, w in waits if at <= start]
        after = [w for at, w in waits if at >= end]
        if not before:
            return 0.0
        last = after[0] if after else _runqueue_wait(native_id)
        return max(0.0, (last or 0.0) - before[-1])

    @staticmethod
    def _check(w: _Watched, now: float) -> None:
        waited = _runqueue_wait(w.native_id)
        if waited is not None:
            w.waits.append((now, waited))
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
            w.samples.append((now, running, stack))


def _runqueue_wait(native_id: int | None) -> float | None:
    """Total seconds a thread has spent waiting for a CPU (Linux schedstat; None elsewhere)."""
    if native_id is None:
        return None
    try:
        with open(f"/proc/self/task/{native_id}/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class _SlowCallback:
    """One "Executing <handle> took N seconds" record and what was known when it was logged."""

    message: str
    seconds: float
    ended: float
    loop: asyncio.AbstractEventLoop | None
    handle: asyncio.Handle | None
    awaiting: traceback.StackSummary | None  # for a task step: where the task waits next


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
        self.records.append(
            _SlowCallback(
                message=record.getMessage(),
                seconds=float(cast(float, record.args[1])),
                ended=time.monotonic(),
                loop=loop,
                handle=handle if isinstance(handle, asyncio.Handle) else None,
                awaiting=awaiting,
            )
        )


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
    start = slow.ended - slow.seconds
    waited = _WATCHDOG.runqueue_wait(slow.loop, start, slow.ended)
    waited += _gc_seconds(start, slow.ended)
    if slow.seconds - waited < SLOW_CALLBACK_SECONDS:
        return False
    sampled = _WATCHDOG.stacks_during(slow.loop, slow.handle, start, slow.ended)
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
    if slow.loop is not None:
        stacks = _WATCHDOG.stacks_during(
            slow.loop, slow.handle, slow.ended - slow.seconds, slow.ended
        )
        for stack in stacks[:3]:
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
