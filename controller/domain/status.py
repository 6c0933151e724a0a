"""Status badges shown for definitions, certificates and deployments (pure rules)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

FINAL_REQUEST_STATES = frozenset({"done", "cancelled"})
CONFIRMED_DEPLOYMENT_STATES = frozenset({"confirmed", "manually-confirmed", "completed-unchecked"})
FAILED_DEPLOYMENT_STATES = frozenset({"check-failed"})


@dataclass(frozen=True)
class Badge:
    """A short label and its tone (``ok``, ``warn``, ``bad``, ``none``)."""

    label: str
    tone: str


def expiry_badge(
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
    now: dt.datetime,
    *,
    warn_days: int = 30,
) -> Badge:
    """Expired, expiring (a third of the lifetime or ``warn_days`` left), or valid."""
    if not_after is None:
        return Badge("no certificate", "none")
    left = not_after - now
    days = int(left.total_seconds() // 86400)
    if left.total_seconds() <= 0:
        return Badge(f"expired {-days} d ago" if days < 0 else "expired", "bad")
    lifetime = (not_after - not_before).total_seconds() if not_before else 0
    if days <= warn_days or (lifetime > 0 and left.total_seconds() < lifetime / 3):
        return Badge(f"{days} d left", "warn")
    return Badge(f"{days} d left", "ok")


def days_left(not_after: dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole days until expiry (negative when expired)."""
    if not_after is None:
        return None
    return int((not_after - now).total_seconds() // 86400)


def acquisition_badge(status: str | None) -> Badge:
    """The state of the newest acquisition."""
    if status is None:
        return Badge("-", "none")
    if status in FINAL_REQUEST_STATES:
        return Badge(status, "ok" if status == "done" else "none")
    return Badge(status, "warn")


def deployments_badge(states: dict[str, int], outdated: int) -> Badge:
    """Summary of a definition's deployments (counts by status, and how many hold an old certificate)."""
    total = sum(states.values())
    if total == 0:
        return Badge("none", "none")
    failed = sum(n for s, n in states.items() if s in FAILED_DEPLOYMENT_STATES)
    done = sum(n for s, n in states.items() if s in CONFIRMED_DEPLOYMENT_STATES)
    if failed:
        return Badge(f"{failed}/{total} check failed", "bad")
    if outdated:
        return Badge(f"{outdated}/{total} need the new certificate", "warn")
    if done == total:
        return Badge(f"{total} confirmed", "ok")
    return Badge(f"{done}/{total} confirmed", "warn")
