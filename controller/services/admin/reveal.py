"""A secret shown once after a redirect (post/redirect/get for new tokens and passphrases).

A console form that makes a secret (an API token, a one-time password, an enrolment token, a
package passphrase) redirects to a page; the secret waits on the server, sealed with the master
key in the signed-in session's row, and that page takes it: shown once, then gone. A reload
shows nothing and resubmits nothing; the secret never travels in a URL. Sign-out drops it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, update

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import ConsoleSession
from certmgr.controller.vault import MasterKey, UnsealError

REVEAL_PURPOSE = "session-reveal"


def _sid_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def hold_secret(
    db: Database, vault: MasterKey, session_id: str, kind: str, values: dict[str, Any]
) -> None:
    """Keep ``values`` (JSON) for the next page of ``kind`` in this session; replaces any other."""
    sealed = vault.seal(json.dumps({"kind": kind, "values": values}).encode(), REVEAL_PURPOSE)
    async with db.transaction() as s:
        await s.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id_sha256 == _sid_hash(session_id))
            .values(sealed_reveal=sealed)
        )


async def take_secret(
    db: Database, vault: MasterKey, session_id: str, kind: str
) -> dict[str, Any] | None:
    """The values held for ``kind`` (then dropped), or None (nothing held, or for another page)."""
    if not session_id:
        return None
    sid = _sid_hash(session_id)
    async with db.reader() as s:
        sealed = (
            await s.execute(
                select(ConsoleSession.sealed_reveal).where(ConsoleSession.id_sha256 == sid)
            )
        ).scalar_one_or_none()
    if sealed is None:
        return None
    try:
        held = json.loads(vault.unseal(sealed, REVEAL_PURPOSE))
    except (UnsealError, ValueError):
        held = None
    if held is not None and held.get("kind") != kind:
        return None  # meant for another page: it stays until that page or the next secret
    async with db.transaction() as s:
        done = await s.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id_sha256 == sid, ConsoleSession.sealed_reveal == sealed)
            .values(sealed_reveal=None)
        )
    if held is None or getattr(done, "rowcount", 1) != 1:
        return None  # a second tab took it first: shown once means once
    values = held.get("values")
    return values if isinstance(values, dict) else None
