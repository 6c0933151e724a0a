"""Status badges shown for definitions, certificates and deployments (pure rules)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from certmgr.shared.deploycheck import outcome_name

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
    """Expired, not valid yet, expiring (a third of the lifetime or ``warn_days`` left), or valid."""
    if not_after is None:
        return Badge("no certificate", "none")
    if not_before is not None and not_before > now and not_after > now:
        return Badge(f"not valid before {not_before:%Y-%m-%d}", "bad")
    left = not_after - now
    days = int(left.total_seconds() // 86400)
    if left.total_seconds() <= 0:
        return Badge(f"expired {-days} d ago" if days < 0 else "expired", "bad")
    lifetime = (not_after - not_before).total_seconds() if not_before else 0
    if days <= warn_days or (lifetime > 0 and left.total_seconds() < lifetime / 3):
        return Badge(f"{days} d left", "warn")
    return Badge(f"{days} d left", "ok")


CHECK_TONES = {"ok": "ok", "failed": "bad", "unreachable": "none"}


def check_badge(ok: bool, reachable: bool, served_sha256: str | None) -> Badge:
    """A check's outcome as every screen shows it: ``ok``, ``failed`` or ``unreachable``.

    The one mapping from a stored check (or an outcome) to its word and colour, so the same
    check has the same name on the deployment, the deployment list, Monitor Control and findings.
    """
    name = outcome_name(ok=ok, reachable=reachable, served=bool(served_sha256))
    return Badge(name, CHECK_TONES[name])


def check_sentence(ok: bool, reachable: bool, served_sha256: str | None, error: str) -> str:
    """A check's result as one sentence for a flash message (same words as :func:`check_badge`)."""
    name = outcome_name(ok=ok, reachable=reachable, served=bool(served_sha256))
    if name == "ok":
        return "Check ok: the current certificate is served."
    if name == "unreachable":
        return f"Check unreachable: the server could not be reached ({error[:300]})."
    return f"Check failed: {error[:300]}."


def validity_badge(
    not_before: dt.datetime, not_after: dt.datetime, now: dt.datetime, *, current: bool = False
) -> Badge:
    """A certificate's validity, with ``current`` when it is its definition's current one.

    A current certificate that has expired or is not valid yet is never shown as a plain green
    "current": the badge says what is wrong with it.
    """
    prefix = "current, " if current else ""
    if not_after <= now:
        return Badge(f"{prefix}expired {not_after:%Y-%m-%d}", "bad")
    if not_before > now:
        return Badge(
            f"{prefix}not valid before {not_before:%Y-%m-%d}", "bad" if current else "warn"
        )
    return Badge("current", "ok") if current else Badge("valid", "none")


def days_left(not_after: dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole days until expiry (negative when expired)."""
    if not_after is None:
        return None
    return int((not_after - now).total_seconds() // 86400)


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
