"""Pure rules of the scheduler and the notifications: schedules, due, backoff, signatures."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from certmgr.controller.db.models import JobLease
from certmgr.controller.scheduler.jobs import every
from certmgr.controller.scheduler.runner import _due
from certmgr.controller.services.monitoring.config import (
    MonitorConfig,
    check_monitor_config,
    next_at,
)
from certmgr.controller.services.notification.outbox import MAX_ATTEMPTS, backoff
from certmgr.controller.services.notification.webhooks import display_url, sign, signature_valid
from certmgr.shared.errors import ValidationError

T = dt.datetime(2027, 3, 15, 10, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("time_of_day", "hours", "expected"),
    [
        ("03:00", 24, dt.datetime(2027, 3, 16, 3, 0, tzinfo=dt.UTC)),
        ("11:00", 24, dt.datetime(2027, 3, 15, 11, 0, tzinfo=dt.UTC)),
        ("10:30", 24, dt.datetime(2027, 3, 16, 10, 30, tzinfo=dt.UTC)),  # strictly after now
        ("03:00", 6, dt.datetime(2027, 3, 15, 15, 0, tzinfo=dt.UTC)),
        ("23:00", 6, dt.datetime(2027, 3, 15, 11, 0, tzinfo=dt.UTC)),
        ("00:15", 1, dt.datetime(2027, 3, 15, 11, 15, tzinfo=dt.UTC)),
        ("03:00", 168, dt.datetime(2027, 3, 22, 3, 0, tzinfo=dt.UTC)),
    ],
)
def test_next_at_is_the_first_grid_point_after_now(
    time_of_day: str, hours: int, expected: dt.datetime
) -> None:
    assert next_at(T, time_of_day, hours) == expected


@pytest.mark.parametrize("bad", ["24:00", "7", "aa:bb", "", "12:60"])
def test_times_of_day_are_checked(bad: str) -> None:
    with pytest.raises(ValidationError):
        next_at(T, bad)


def test_monitor_config_bounds() -> None:
    assert check_monitor_config(MonitorConfig()) == MonitorConfig()
    with pytest.raises(ValidationError) as err:
        check_monitor_config(MonitorConfig(concurrency=0))
    assert err.value.field == "concurrency"
    with pytest.raises(ValidationError):
        check_monitor_config(MonitorConfig(expiring_fraction=1.5))
    with pytest.raises(ValidationError):
        check_monitor_config(MonitorConfig(interval_hours=2.5))  # type: ignore[arg-type]


def _lease(**kw: object) -> JobLease:
    base: dict[str, object] = {"name": "x", "holder": "", "lease_until": None, "next_run_at": T}
    base.update(kw)
    return JobLease(**base)


def test_due_needs_the_time_and_a_free_or_own_lease() -> None:
    later = T + dt.timedelta(minutes=1)
    assert _due(_lease(), T, "me")
    assert not _due(_lease(next_run_at=later), T, "me")
    assert not _due(_lease(next_run_at=None), T, "me")
    assert not _due(_lease(holder="other", lease_until=later), T, "me")
    assert _due(_lease(holder="other", lease_until=T - dt.timedelta(seconds=1)), T, "me")
    assert _due(_lease(holder="me", lease_until=later), T, "me")  # restarted with the same id


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert waits[:4] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(waits) == dt.timedelta(hours=1)
    assert dt.timedelta(hours=12) < sum(waits, dt.timedelta()) < dt.timedelta(hours=24)


def test_webhook_signature_and_display() -> None:
    body = b'{"event":"ping"}'
    header = sign(b"k" * 32, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert signature_valid(b"k" * 32, body, header)
    assert not signature_valid(b"k" * 32, body + b" ", header)
    assert not signature_valid(b"j" * 32, body, header)
    assert (
        display_url("https://hooks.example.test/services/T0/B1/XyZ?x=1")
        == "https://hooks.example.test/…"
    )
    assert display_url("https://hooks.example.test") == "https://hooks.example.test"


def test_every_counts_from_the_last_run() -> None:
    nxt = every(dt.timedelta(minutes=1))
    assert asyncio.run(nxt(None, T)) == T + dt.timedelta(minutes=1)  # type: ignore[arg-type]
