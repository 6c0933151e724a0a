"""When a certificate is due for renewal (pure rules)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

DEFAULT_FRACTION = 1 / 3


def renewal_due_at(
    not_before: dt.datetime,
    not_after: dt.datetime,
    policy: dict[str, Any] | None = None,
    *,
    ari_window: tuple[dt.datetime, dt.datetime] | None = None,
    seed: str = "",
) -> dt.datetime:
    """The moment renewal should start.

    Inside an ACME Renewal Information window when there is one (a stable point in it, so that
    many certificates spread out); else when ``days_before`` days or a fraction of the lifetime
    (default a third) remain, whichever the policy names.
    """
    if ari_window is not None:
        start, end = ari_window
        if end > start:
            frac = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big") / 2**32
            return start + (end - start) * frac
        return start
    pol = policy or {}
    days = pol.get("days_before")
    if isinstance(days, int) and not isinstance(days, bool) and days > 0:
        return not_after - dt.timedelta(days=days)
    fraction = pol.get("fraction", DEFAULT_FRACTION)
    if not isinstance(fraction, int | float) or not 0 < fraction < 1:
        fraction = DEFAULT_FRACTION
    return not_after - (not_after - not_before) * float(fraction)


def retry_delay(attempts: int) -> dt.timedelta:
    """Backoff after a failed acquisition: 10 min, 20, 40 ... capped at 24 h (no rate-limit spiral)."""
    delay: dt.timedelta = dt.timedelta(minutes=10) * (2 ** max(0, min(attempts, 20) - 1))
    return min(delay, dt.timedelta(hours=24))
