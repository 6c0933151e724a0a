"""Sign-in with rate limiting, password changes, API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import ApiToken, LoginFailure, User
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.audit import audit
from certmgr.controller.services.users import (
    check_password_policy,
    find_user,
    hash_password,
    verify_password,
)
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    CertmgrError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

WINDOW = dt.timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20
TOKEN_PREFIX = "cmt_"  # noqa: S105 - a prefix, not a secret
# A constant hash to spend the same time on unknown users as on known ones.
_DUMMY_HASH = hash_password("certmgr-timing-equaliser")


class SignInError(CertmgrError):
    """Wrong user name or password (deliberately vague), or rate-limited."""

    exit_code = 5
    http_status = 401
    title = "Sign-in failed"


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in."""

    user: User
    must_change_password: bool


def actor_for(user: User, source: str) -> Actor:
    """The actor a user acts as."""
    return Actor(name=user.username, role=Role(user.role), source=source, user_id=user.id)


async def sign_in(
    db: Database, username: str, password: str, address: str, clock: Clock
) -> SignedIn:
    """Check a password, with per-account and per-address limits on failures.

    Raises:
        SignInError: Wrong credentials, disabled account, or too many recent failures.
    """
    now = clock.now()
    name = username.strip()[:100]
    async with db.transaction() as s:
        since = now - WINDOW
        per_account = (
            await s.execute(
                select(func.count(LoginFailure.id)).where(
                    LoginFailure.username == name, LoginFailure.at > since
                )
            )
        ).scalar_one()
        per_address = (
            await s.execute(
                select(func.count(LoginFailure.id)).where(
                    LoginFailure.address == address, LoginFailure.at > since
                )
            )
        ).scalar_one()
        if per_account >= MAX_PER_ACCOUNT or per_address >= MAX_PER_ADDRESS:
            audit(
                s,
                Actor(name=name or "?", role=Role.USER, source=address),
                "auth.rate-limited",
                "user",
                name,
                {},
                clock=clock,
            )
            raise SignInError("too many failed sign-ins; try again in 15 minutes")
        user = (await s.execute(select(User).where(User.username == name))).scalar_one_or_none()
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password[:1024])
        if user is None or not ok or user.disabled:
            s.add(LoginFailure(username=name, address=address, at=now))
            audit(
                s,
                Actor(name=name or "?", role=Role.USER, source=address),
                "auth.sign-in-failed",
                "user",
                name,
                {"disabled": bool(user and user.disabled and ok)},
                clock=clock,
            )
        else:
            user.last_login_at = now
            await s.execute(delete(LoginFailure).where(LoginFailure.username == name))
            audit(s, actor_for(user, address), "auth.sign-in", "user", user.id, {}, clock=clock)
            return SignedIn(user, user.must_change_password)
    raise SignInError("wrong user name or password")


async def change_password(db: Database, actor: Actor, current: str, new: str, clock: Clock) -> User:
    """Change the actor's own password (clears the one-time flag; ends other sessions).

    Raises:
        ValidationError: Wrong current password or a weak new one.
    """
    async with db.transaction() as s:
        if actor.user_id is None:
            raise PermissionDeniedError("only a signed-in user can change a password")
        user = await s.get(User, actor.user_id)
        if user is None:
            raise NotFoundError("user no longer exists")
        if not verify_password(user.password_hash, current):
            raise ValidationError("the current password is wrong", field="current_password")
        if new == current:
            raise ValidationError(
                "the new password must differ from the current one", field="new_password"
            )
        check_password_policy(new, username=user.username, field="new_password")
        user.password_hash = hash_password(new)
        user.must_change_password = False
        user.password_changed_at = clock.now()
        audit(s, actor, "user.password-change", "user", user.id, {}, clock=clock)
        return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    db: Database, actor: Actor, username: str, name: str, clock: Clock, *, days: int | None = None
) -> tuple[ApiToken, str]:
    """Make an API token for ``username``; the token text is returned once and stored only hashed.

    Raises:
        NotFoundError: No such user.
        PermissionDeniedError: A plain user making a token for someone else.
    """
    if actor.role is Role.USER and actor.name != username:
        raise PermissionDeniedError("users may only create tokens for themselves", actor=actor.name)
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
            {"user": user.username, "name": label},
            clock=clock,
        )
    return row, token


async def user_for_token(db: Database, token: str, clock: Clock) -> User | None:
    """The enabled user a bearer token belongs to (None: unknown, revoked, expired)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    now = clock.now()
    async with db.reader() as s:
        row = (
            await s.execute(select(ApiToken).where(ApiToken.token_sha256 == _token_hash(token)))
        ).scalar_one_or_none()
        if row is None or row.revoked or (row.expires_at is not None and row.expires_at < now):
            return None
        user = await s.get(User, row.user_id)
        if user is None or user.disabled:
            return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        async with db.transaction() as s:
            fresh = await s.get(ApiToken, row.id)
            if fresh is not None:
                fresh.last_used_at = now
    return user
