"""Console sessions kept on the server: the cookie carries a random id, the database its SHA-256.

Sign-out revokes the session; a password change, a password reset and disabling a user revoke
every session of that user. Idle and absolute timeouts are checked against the stored times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import ConsoleSession, User
from certmgr.shared.clock import Clock

# last_seen_at is written at most this often per session (every page view would be a write)
SEEN_RESOLUTION = dt.timedelta(minutes=1)
# ended and expired sessions are kept this long (who was signed in from where), then pruned
KEEP_ENDED = dt.timedelta(days=30)


def _sid_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start_session(s: AsyncSession, user_id: int, address: str, now: dt.datetime) -> str:
    """Record a new session inside the caller's transaction; returns its id (for the cookie only).

    Every sign-in gets a fresh random id, so an id planted before sign-in is worth nothing.
    """
    session_id = secrets.token_urlsafe(32)
    s.add(
        ConsoleSession(
            id_sha256=_sid_hash(session_id),
            user_id=user_id,
            address=address[:64],
            created_at=now,
            last_seen_at=now,
        )
    )
    await s.execute(delete(ConsoleSession).where(ConsoleSession.last_seen_at < now - KEEP_ENDED))
    return session_id


async def resume_session(
    db: Database,
    session_id: str,
    *,
    idle: dt.timedelta,
    max_age: dt.timedelta,
    clock: Clock,
) -> User | None:
    """The enabled user of a live session, or None (unknown, revoked, idle or too old).

    Moves the idle timer forward (a write at most once a minute per session).
    """
    if not session_id or len(session_id) > 100:
        return None
    now = clock.now()
    async with db.reader() as s:
        row = (
            await s.execute(
                select(ConsoleSession, User)
                .join(User, User.id == ConsoleSession.user_id)
                .where(ConsoleSession.id_sha256 == _sid_hash(session_id))
            )
        ).one_or_none()
    if row is None:
        return None
    sess, user = row[0], row[1]
    if (
        sess.revoked_at is not None
        or user.disabled
        or now - sess.last_seen_at > idle
        or now - sess.created_at > max_age
    ):
        return None
    if now - sess.last_seen_at >= SEEN_RESOLUTION:
        async with db.transaction() as s:
            await s.execute(
                update(ConsoleSession)
                .where(ConsoleSession.id == sess.id, ConsoleSession.revoked_at.is_(None))
                .values(last_seen_at=now)
            )
    return user


async def end_session(db: Database, session_id: str, clock: Clock) -> None:
    """Revoke one session (sign-out); unknown ids are ignored."""
    if not session_id or len(session_id) > 100:
        return
    async with db.transaction() as s:
        await s.execute(
            update(ConsoleSession)
            .where(
                ConsoleSession.id_sha256 == _sid_hash(session_id),
                ConsoleSession.revoked_at.is_(None),
            )
            .values(revoked_at=clock.now(), sealed_reveal=None)
        )


async def revoke_user_sessions(s: AsyncSession, user_id: int, now: dt.datetime) -> None:
    """Revoke every live session of a user, inside the caller's transaction."""
    await s.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now, sealed_reveal=None)
    )


async def open_session(db: Database, user_id: int, address: str, clock: Clock) -> str:
    """A new session in its own transaction (after a password change); returns its id."""
    async with db.transaction() as s:
        return await start_session(s, user_id, address, clock.now())
