"""Injected time source: aware UTC only."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> dt.datetime:
        """Return the current time as an aware UTC datetime."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        """Return the current time as an aware UTC datetime."""
        return dt.datetime.now(dt.UTC)


class FakeClock:
    """A clock that tests move by hand."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        """Start at ``start`` (default: now)."""
        self._now = start or dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        """Return the fake time."""
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._now += delta
