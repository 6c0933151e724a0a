"""Sign-in with throttling, password changes, API tokens.

Sign-in failures slow down the source that makes them, per account and overall, with growing
delays (no account is ever locked for everybody). Argon2 runs in a worker thread and never
inside a database transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import case, delete, select, update

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import ApiToken, SignInThrottle, User
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services._upsert import upsert
from certmgr.controller.services.admin.refusals import source_key
from certmgr.controller.services.admin.sessions import revoke_user_sessions, start_session
from certmgr.controller.services.admin.settings import MAX_TOKEN_DAYS, load_general_settings
from certmgr.controller.services.admin.users import (
    check_password_policy,
    find_user,
    hash_password,
    verify_password,
)
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    CertmgrError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

# A source's failures are forgotten after this long without a new one.
WINDOW = dt.timedelta(minutes=15)
# Failures allowed without delay, per (source, account) and per source over all accounts.
FREE_PER_ACCOUNT = 2
FREE_PER_SOURCE = 10
MAX_DELAY_SECONDS = 60
ALL_ACCOUNTS = ""  # the throttle row of a source over every account
TOKEN_PREFIX = "cmt_"  # noqa: S105 - a prefix, not a secret
# last_used_at is written at most this often per token
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)


class SignInError(CertmgrError):
    """Wrong user name or password, or a disabled account (deliberately vague)."""

    exit_code = 5
    http_status = 401
    title = "Sign-in failed"


class SignInThrottledError(SignInError):
    """Too many recent failures from this source: try again after ``retry_after`` seconds."""

    http_status = 429
    title = "Too many sign-in attempts"

    def __init__(self, retry_after: int) -> None:
        """Say when to try again."""
        self.retry_after = retry_after
        super().__init__(
            "too many failed sign-ins from your address; "
            f"try again in {retry_after} second{'s' if retry_after != 1 else ''}"
        )


class TokenRefusedError(CertmgrError):
    """An API token that is unknown, revoked, expired or belongs to a disabled user."""

    exit_code = 5
    http_status = 401
    title = "API token refused"


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in, with the new console session's id (for the cookie only)."""

    user: User
    must_change_password: bool
    session_id: str


@dataclass(frozen=True)
class PasswordChanged:
    """A password change: the user, and how many of their API tokens were revoked."""

    user: User
    tokens_revoked: int


def actor_for(user: User, source: str) -> Actor:
    """The actor a user acts as."""
    return Actor(name=user.username, role=Role(user.role), source=source, user_id=user.id)


def throttle_delay(failures: int, free: int) -> int:
    """Seconds to wait after ``failures`` recent failures: none for the first ``free``, then 1, 2, 4 ... 60."""
    if failures <= free:
        return 0
    return int(min(MAX_DELAY_SECONDS, 2 ** min(failures - free - 1, 16)))


async def sign_in(
    db: Database, username: str, password: str, address: str, clock: Clock
) -> SignedIn:
    """Check a password and open a console session; failures slow down their source.

    The attempt is counted as a failure before the password is checked (and forgiven when it
    is right), so parallel guesses cannot slip past the delay. A throttled attempt writes
    nothing and checks nothing.

    Raises:
        SignInThrottledError: This source must wait before trying again (HTTP 429).
        SignInError: Wrong credentials or a disabled account.
    """
    now = clock.now()
    name = username.strip()[:100]
    addr = address[:64]
    key = source_key(address)  # an IPv6 /64 is one source: it must not buy endless fresh tries
    if not name:
        raise SignInError("wrong user name or password")
    async with db.transaction() as s:
        rows = (
            (
                await s.execute(
                    select(SignInThrottle).where(
                        SignInThrottle.address == key,
                        SignInThrottle.username.in_((name, ALL_ACCOUNTS)),
                    )
                )
            )
            .scalars()
            .all()
        )
        wait = 0.0
        for row in rows:
            if now - row.last_failure_at > WINDOW:
                continue
            free = FREE_PER_SOURCE if row.username == ALL_ACCOUNTS else FREE_PER_ACCOUNT
            ready = row.last_failure_at + dt.timedelta(seconds=throttle_delay(row.failures, free))
            wait = max(wait, (ready - now).total_seconds())
        if wait > 0:
            raise SignInThrottledError(max(1, math.ceil(wait)))
        for account in (name, ALL_ACCOUNTS):
            await s.execute(
                upsert(
                    s,
                    SignInThrottle,
                    {"address": key, "username": account, "failures": 1, "last_failure_at": now},
                    ("address", "username"),
                    {
                        "failures": case(
                            (SignInThrottle.last_failure_at < now - WINDOW, 1),
                            else_=SignInThrottle.failures + 1,
                        ),
                        "last_failure_at": now,
                    },
                )
            )
        user = (await s.execute(select(User).where(User.username == name))).scalar_one_or_none()
        stored_hash = user.password_hash if user is not None else None
    ok = await verify_password(stored_hash, password[:1024])
    async with db.transaction() as s:
        fresh = await s.get(User, user.id) if user is not None else None
        if fresh is None or not ok or fresh.disabled or fresh.password_hash != stored_hash:
            audit(
                s,
                Actor(name=name or "?", role=Role.USER, source=addr),
                "auth.sign-in-failed",
                "user",
                name,
                {"disabled": bool(fresh is not None and fresh.disabled and ok)},
                clock=clock,
            )
        else:
            await s.execute(
                delete(SignInThrottle).where(
                    SignInThrottle.address == key, SignInThrottle.username == name
                )
            )
            await s.execute(
                update(SignInThrottle)
                .where(
                    SignInThrottle.address == key,
                    SignInThrottle.username == ALL_ACCOUNTS,
                    SignInThrottle.failures > 0,
                )
                .values(failures=SignInThrottle.failures - 1)
            )
            fresh.last_login_at = now
            session_id = await start_session(s, fresh.id, addr, now)
            audit(s, actor_for(fresh, addr), "auth.sign-in", "user", fresh.id, {}, clock=clock)
            return SignedIn(fresh, fresh.must_change_password, session_id)
    raise SignInError("wrong user name or password")


async def change_password(
    db: Database,
    actor: Actor,
    current: str,
    new: str,
    clock: Clock,
    *,
    revoke_tokens: bool = True,
) -> PasswordChanged:
    """Change the actor's own password; the user's sessions end, and by default their API tokens.

    Both Argon2 computations run in a worker thread before the transaction.

    Raises:
        PermissionDeniedError: The actor is not a signed-in user.
        NotFoundError: The user no longer exists.
        ValidationError: Wrong current password or a weak new one.
        ConflictError: The password changed meanwhile.
    """
    if actor.user_id is None:
        raise PermissionDeniedError("only a signed-in user can change a password")
    async with db.reader() as s:
        user = await s.get(User, actor.user_id)
        if user is None:
            raise NotFoundError("user no longer exists")
        old_hash, username = user.password_hash, user.username
    if not await verify_password(old_hash, current[:1024]):
        raise ValidationError("the current password is wrong", field="current_password")
    if new == current:
        raise ValidationError(
            "the new password must differ from the current one", field="new_password"
        )
    check_password_policy(new, username=username, field="new_password")
    new_hash = await hash_password(new)
    now = clock.now()
    async with db.transaction() as s:
        user = await s.get(User, actor.user_id)
        if user is None:
            raise NotFoundError("user no longer exists")
        if user.password_hash != old_hash:
            raise ConflictError("the password was changed meanwhile; sign in again")
        user.password_hash = new_hash
        user.must_change_password = False
        user.password_changed_at = now
        await revoke_user_sessions(s, user.id, now)
        revoked = 0
        if revoke_tokens:
            revoked = len(
                (
                    await s.execute(
                        update(ApiToken)
                        .where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                        .values(revoked=True)
                        .returning(ApiToken.id)
                    )
                ).all()
            )
        audit(
            s,
            actor,
            "user.password-change",
            "user",
            user.id,
            {"tokens_revoked": revoked},
            clock=clock,
        )
    return PasswordChanged(user, revoked)


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
        user = await find_user(s, username)
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
        row = (
            await s.execute(select(ApiToken).where(ApiToken.token_sha256 == _token_hash(token)))
        ).scalar_one_or_none()
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
    stmt = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if actor.role is not Role.ADMIN:
        stmt = stmt.where(ApiToken.user_id == actor.user_id)
    async with db.reader() as s:
        rows = (await s.execute(stmt.order_by(ApiToken.id))).all()
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
