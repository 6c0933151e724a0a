"""API tokens: creation (shown once, stored hashed), bearer-token checks, listing, revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import ApiToken, User
from certmgr.controller.db.queries.users import token_by_hash, tokens_with_owner, user_named
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.admin.settings import MAX_TOKEN_DAYS, load_general_settings
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock
from certmgr.shared.errors import NotFoundError, PermissionDeniedError, ValidationError

TOKEN_PREFIX = "cmt_"  # noqa: S105 - a prefix, not a secret
# last_used_at is written at most this often per token
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)


class TokenRefusedError(PermissionDeniedError):
    """An API token that is unknown, revoked, expired or belongs to a disabled user."""


async def _find_user(s: AsyncSession, username: str) -> User:
    user = await user_named(s, username)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_token_days(days: object, field: str = "days") -> int:
    """A token lifetime in days: 0 (never expires) to 3650.

    Raises:
        ValidationError: Not a whole number in that range.
    """
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_TOKEN_DAYS:
        raise ValidationError(
            f"days must be a whole number from 0 (never expires) to {MAX_TOKEN_DAYS}", field=field
        )
    return days


async def create_token(
    db: Database, actor: Actor, username: str, name: str, clock: Clock, *, days: int | None = None
) -> tuple[ApiToken, str]:
    """Make an API token for ``username``; the token text is returned once and stored only hashed.

    Args:
        db: The database.
        actor: Who asks.
        username: Whose token it is.
        name: A label.
        clock: The clock.
        days: Lifetime; None takes the configured default (90 days unless changed in the
            settings), 0 means the token never expires.

    Raises:
        NotFoundError: No such user.
        PermissionDeniedError: A plain user making a token for someone else.
        ValidationError: A lifetime out of range.
    """
    if actor.role is Role.USER and actor.name != username:
        raise PermissionDeniedError("users may only create tokens for themselves", actor=actor.name)
    if days is None:
        days = (await load_general_settings(db)).token_days
    days = check_token_days(days)
    label = name.strip()[:100] or "token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    async with db.transaction() as s:
        user = await _find_user(s, username)
        row = ApiToken(
            user_id=user.id,
            name=label,
            token_sha256=_token_hash(token),
            prefix=token[:10],
            created_at=now,
            expires_at=now + dt.timedelta(days=days) if days else None,
        )
        s.add(row)
        await s.flush()
        audit(
            s,
            actor,
            "token.create",
            "token",
            row.id,
            {"user": user.username, "name": label, "days": days},
            clock=clock,
        )
    return row, token


async def user_for_token(db: Database, token: str, clock: Clock) -> User:
    """The enabled user a bearer token belongs to; notes its use (at most once a minute).

    Raises:
        TokenRefusedError: Unknown, revoked or expired token, or a disabled user.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise TokenRefusedError("unknown API token")
    now = clock.now()
    async with db.reader() as s:
        row = await token_by_hash(s, _token_hash(token))
        if row is None:
            raise TokenRefusedError("unknown API token")
        if row.revoked:
            raise TokenRefusedError("this API token was revoked")
        if row.expires_at is not None and row.expires_at <= now:
            raise TokenRefusedError(
                f"this API token expired at {row.expires_at:%Y-%m-%d %H:%M} UTC; create a new one"
            )
        user = await s.get(User, row.user_id)
        if user is None or user.disabled:
            raise TokenRefusedError("the user of this API token is disabled")
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        async with db.transaction() as s:
            await s.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return user


@dataclass(frozen=True)
class TokenInfo:
    """An API token's metadata (never the token)."""

    id: int
    name: str
    prefix: str
    user: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked: bool

    def expired(self, now: dt.datetime) -> bool:
        """True when the token's lifetime is over."""
        return self.expires_at is not None and self.expires_at <= now

    def to_dict(self, now: dt.datetime) -> dict[str, object]:
        """The metadata for the API and ``token list --json``."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "user": self.user,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked": self.revoked,
            "expired": self.expired(now),
        }


async def list_tokens(db: Database, actor: Actor) -> list[TokenInfo]:
    """The actor's API tokens (an admin: everybody's), oldest first."""
    async with db.reader() as s:
        rows = await tokens_with_owner(s, everybody=actor.role is Role.ADMIN, user_id=actor.user_id)
    return [
        TokenInfo(t.id, t.name, t.prefix, u, t.created_at, t.expires_at, t.last_used_at, t.revoked)
        for t, u in rows
    ]


async def revoke_token(db: Database, actor: Actor, token_id: int, clock: Clock) -> None:
    """Revoke an API token (one's own; an admin: anyone's).

    Raises:
        NotFoundError: No such token, or another user's token for a plain user.
    """
    async with db.transaction() as s:
        t = await s.get(ApiToken, token_id)
        if t is None or (actor.role is not Role.ADMIN and t.user_id != actor.user_id):
            raise NotFoundError(f"no token {token_id}")
        if not t.revoked:
            t.revoked = True
            audit(s, actor, "token.revoke", "token", t.id, {}, clock=clock)
