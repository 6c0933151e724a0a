"""The one mapping of a check's verdict to its ``check_results`` row.

Used by :func:`~certmgr.controller.services.deployment.checks.store_checks` (deploy checks, manual
codes, receipts) and by monitoring's bulk writes alike, so every source stores the same columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from certmgr.shared.deploycheck import CheckOutcome


def check_values(
    deployment_id: int,
    outcome: CheckOutcome,
    at: dt.datetime,
    source: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Column values of the ``check_results`` row of one check (``extra`` joins its detail)."""
    return {
        "deployment_id": deployment_id,
        "at": at,
        "source": source,
        "ok": outcome.ok,
        "reachable": outcome.reachable,
        "served_sha256": outcome.served_sha256 or "",
        "matches_current": outcome.matches_current,
        "chain_complete": outcome.chain_complete,
        "chain_in_order": outcome.chain_in_order,
        "hostname_matches": outcome.hostname_matches,
        "days_left": outcome.days_left,
        "error": "; ".join(outcome.problems)[:4000],
        "detail": {**outcome.to_dict(), **(extra or {})},
    }
