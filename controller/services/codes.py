"""Per-deployment keys for check codes and one-click receipts, derived from the master key."""

from __future__ import annotations

import hashlib
import hmac

from certmgr.controller.vault import MasterKey


def check_key_for(vault: MasterKey, deployment_id: int) -> bytes:
    """The deployment's check key (shown as ``CMK1-...`` in the manual-check instructions)."""
    return hmac.new(
        vault.derive("check-codes").reveal(), f"deployment:{deployment_id}".encode(), hashlib.sha256
    ).digest()


def receipt_key_for(vault: MasterKey, deployment_id: int, sequence: int) -> bytes:
    """The receipt key put into the sealed one-click package of this deployment and sequence."""
    return hmac.new(
        vault.derive("receipt-codes").reveal(),
        f"deployment:{deployment_id}:{sequence}".encode(),
        hashlib.sha256,
    ).digest()
