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
) -> bool:
    """Keep ``values`` (JSON) for the next page of ``kind`` in this session.

    Secrets for other pages stay: two package builds, or a build finishing while the admin makes
    a token, each keep their own. A newer secret for the same page replaces the older one.
    Returns False when the session is gone (signed out): nothing is kept.
    """
    sid = _sid_hash(session_id)
    for _ in range(5):  # another tab may store or take a secret between our read and write
        async with db.reader() as s:
            row = (
                await s.execute(
                    select(ConsoleSession.id_sha256, ConsoleSession.sealed_reveal).where(
                        ConsoleSession.id_sha256 == sid
                    )
                )
            ).one_or_none()
        if row is None:
            return False
        held = _open(vault, row.sealed_reveal)
        held[kind] = values
        sealed = vault.seal(json.dumps(held).encode(), REVEAL_PURPOSE)
        if await _swap(db, sid, row.sealed_reveal, sealed):
            return True
    return False


def _open(vault: MasterKey, sealed: bytes | None) -> dict[str, Any]:
    """The secrets held, by page (an unreadable or older single-secret blob counts as none)."""
    if sealed is None:
        return {}
    try:
        held = json.loads(vault.unseal(sealed, REVEAL_PURPOSE))
    except (UnsealError, ValueError):
        return {}
    if not isinstance(held, dict):
        return {}
    if "kind" in held and "values" in held:  # the one-secret form stored before this one
        return {str(held["kind"]): held["values"]}
    return {str(k): v for k, v in held.items() if isinstance(v, dict)}


async def _swap(db: Database, sid: str, old: bytes | None, new: bytes | None) -> bool:
    """Replace the session's sealed secrets if they are still ``old``."""
    match = (
        ConsoleSession.sealed_reveal.is_(None)
        if old is None
        else ConsoleSession.sealed_reveal == old
    )
    async with db.transaction() as s:
        done = await s.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id_sha256 == sid, match)
            .values(sealed_reveal=new)
        )
    return getattr(done, "rowcount", 1) == 1


async def take_secret(
    db: Database, vault: MasterKey, session_id: str, kind: str
) -> dict[str, Any] | None:
    """The values held for ``kind`` (then dropped), or None; secrets for other pages stay."""
    if not session_id:
        return None
    sid = _sid_hash(session_id)
    for _ in range(5):
        async with db.reader() as s:
            sealed = (
                await s.execute(
                    select(ConsoleSession.sealed_reveal).where(ConsoleSession.id_sha256 == sid)
                )
            ).scalar_one_or_none()
        held = _open(vault, sealed)
        values = held.pop(kind, None)
        if values is None:
            return None  # nothing for this page
        rest = vault.seal(json.dumps(held).encode(), REVEAL_PURPOSE) if held else None
        if await _swap(db, sid, sealed, rest):
            return values if isinstance(values, dict) else None
    return None  # a second tab kept changing them; shown once means at most once
