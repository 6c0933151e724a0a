"""Monitoring and notification settings kept in the database (editable on Monitor Control)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import SettingRecord
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ValidationError

MONITORING_KEY = "monitoring"
NOTIFICATIONS_KEY = "notifications"


@dataclass(frozen=True)
class MonitorConfig:
    """When and how monitoring runs, and when a finding is raised.

    ``interval_hours`` counts from ``time_of_day`` (UTC): 24 means daily at that time, 6 means
    at that time and every 6 hours after it. ``verify_trust`` also judges each served chain
    against the system trust store (informational; about 0.4 ms of CPU per check).
    """

    interval_hours: int = 24
    time_of_day: str = "03:00"
    concurrency: int = 100
    probe_timeout: float = 10.0
    expiring_days: int = 30
    expiring_fraction: float = 0.33
    unreachable_after: int = 3
    renewal_concurrency: int = 4
    verify_trust: bool = False


@dataclass(frozen=True)
class NotifyConfig:
    """The daily digest and immediate alerts."""

    digest_time: str = "07:00"
    digest_always: bool = False
    immediate_critical: bool = True


_BOUNDS: dict[str, tuple[float, float]] = {
    "interval_hours": (1, 168),
    "concurrency": (1, 1000),
    "probe_timeout": (1, 120),
    "expiring_days": (1, 365),
    "expiring_fraction": (0.01, 0.9),
    "unreachable_after": (1, 100),
    "renewal_concurrency": (1, 50),
}
_FRACTIONAL = frozenset({"probe_timeout", "expiring_fraction"})


def parse_time_of_day(value: str, field_name: str) -> dt.time:
    """``HH:MM`` (24-hour, UTC).

    Raises:
        ValidationError: Not such a time.
    """
    try:
        hours, minutes = value.strip().split(":")
        t = dt.time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValidationError("enter a time as HH:MM (24-hour, UTC)", field=field_name) from None
    return t


def check_monitor_config(cfg: MonitorConfig) -> MonitorConfig:
    """The config with every value checked against its bounds.

    Raises:
        ValidationError: A value is out of range (naming the field).
    """
    parse_time_of_day(cfg.time_of_day, "time_of_day")
    for name, (lo, hi) in _BOUNDS.items():
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise ValidationError(f"{name} must be between {lo:g} and {hi:g}", field=name)
        if name not in _FRACTIONAL and value != int(value):
            raise ValidationError(f"{name} must be a whole number", field=name)
    return cfg


def check_notify_config(cfg: NotifyConfig) -> NotifyConfig:
    """The config, checked.

    Raises:
        ValidationError: A bad digest time.
    """
    parse_time_of_day(cfg.digest_time, "digest_time")
    return cfg


def _from(cls: type[Any], value: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    data: dict[str, Any] = {}
    for name, raw in value.items():
        f = known.get(name)
        if f is None:
            continue
        default = f.default
        if isinstance(default, bool):
            data[name] = bool(raw)
        elif isinstance(default, int):
            data[name] = int(raw)
        elif isinstance(default, float):
            data[name] = float(raw)
        else:
            data[name] = str(raw)
    return cls(**data)


async def load_monitor_config(db: Database) -> MonitorConfig:
    """The stored monitoring settings (defaults where none are stored)."""
    async with db.reader() as s:
        row = await s.get(SettingRecord, MONITORING_KEY)
    if row is None:
        return MonitorConfig()
    try:
        return check_monitor_config(_from(MonitorConfig, row.value))
    except (ValueError, TypeError, ValidationError):
        return MonitorConfig()


async def load_notify_config(db: Database) -> NotifyConfig:
    """The stored notification settings (defaults where none are stored)."""
    async with db.reader() as s:
        row = await s.get(SettingRecord, NOTIFICATIONS_KEY)
    if row is None:
        return NotifyConfig()
    try:
        return check_notify_config(_from(NotifyConfig, row.value))
    except (ValueError, TypeError, ValidationError):
        return NotifyConfig()


async def _save(db: Database, actor: Actor, key: str, value: dict[str, Any], clock: Clock) -> None:
    async with db.transaction() as s:
        row = await s.get(SettingRecord, key)
        if row is None:
            row = SettingRecord(key=key, value={}, updated_at=clock.now())
            s.add(row)
        row.value = value
        row.updated_at = clock.now()
        row.updated_by = actor.name
        audit(s, actor, f"settings.{key}", "settings", key, value, clock=clock)


async def save_monitor_config(
    db: Database, actor: Actor, cfg: MonitorConfig, clock: Clock
) -> MonitorConfig:
    """Check and store monitoring settings.

    Raises:
        ValidationError: A value is out of range.
        PermissionDeniedError: Not an admin.
    """
    actor.require_admin("changing monitoring settings")
    check_monitor_config(cfg)
    await _save(db, actor, MONITORING_KEY, asdict(cfg), clock)
    return cfg


async def save_notify_config(
    db: Database, actor: Actor, cfg: NotifyConfig, clock: Clock
) -> NotifyConfig:
    """Check and store notification settings.

    Raises:
        ValidationError: A bad digest time.
        PermissionDeniedError: Not an admin.
    """
    actor.require_admin("changing notification settings")
    check_notify_config(cfg)
    await _save(db, actor, NOTIFICATIONS_KEY, asdict(cfg), clock)
    return cfg


def next_at(now: dt.datetime, time_of_day: str, interval_hours: int = 24) -> dt.datetime:
    """The first moment after ``now`` on the grid ``time_of_day + k * interval_hours`` (UTC).

    Raises:
        ValidationError: ``time_of_day`` is not ``HH:MM``.
    """
    t = parse_time_of_day(time_of_day, "time_of_day")
    anchor = now.astimezone(dt.UTC).replace(hour=t.hour, minute=t.minute, second=0, microsecond=0)
    step = dt.timedelta(hours=max(1, interval_hours))
    if anchor > now:
        while anchor - step > now:
            anchor -= step
        return anchor
    behind = (now - anchor) // step + 1
    return anchor + step * behind
