"""Wait for a condition with a deadline (sync and async), instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")


class ConditionTimeoutError(AssertionError):
    """The condition was still false when the deadline passed (an assertion failure in a test)."""


def _failed(what: str, timeout: float, last: object) -> ConditionTimeoutError:
    return ConditionTimeoutError(f"{what} not met within {timeout} s (last value: {last!r})")


def wait_for(
    condition: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    *,
    what: str = "condition",
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that value.

    Args:
        condition: called at once, then every ``interval`` seconds.
        timeout: seconds before giving up.
        interval: seconds between polls.
        what: names the condition in the failure message.

    Returns:
        The first truthy value ``condition`` returned.

    Raises:
        ConditionTimeoutError: the deadline passed first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _failed(what, timeout, value)
        time.sleep(interval)


@overload
async def async_wait_for(
    condition: Callable[[], Awaitable[T]],
    timeout: float = ...,
    interval: float = ...,
    *,
    what: str = ...,
) -> T: ...


@overload
async def async_wait_for(
    condition: Callable[[], T],
    timeout: float = ...,
    interval: float = ...,
    *,
    what: str = ...,
) -> T: ...


async def async_wait_for(
    condition: Callable[[], object],
    timeout: float = 10.0,
    interval: float = 0.02,
    *,
    what: str = "condition",
) -> object:
    """Like `wait_for`, but sleeps with ``asyncio.sleep`` so the event loop keeps running.

    ``condition`` may be a plain callable (it runs on the loop, so it must be quick: read a
    counter, a flag, a small file) or return an awaitable (a database query), which is awaited.

    Raises:
        ConditionTimeoutError: the deadline passed first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _failed(what, timeout, value)
        await asyncio.sleep(interval)
