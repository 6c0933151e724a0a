"""Sign-in with throttling, and password changes (API tokens: ``tokens``).

Sign-in failures slow down the source that makes them, per account and overall, with growing
delays (no account is ever locked for everybody). Argon2 runs in a worker thread and never
inside a database transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import ApiToken, SignInThrottle, User
from certmgr.controller.db.queries.users import user_named
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services._upsert import upsert
from certmgr.controller.services.admin.refusals import source_key
from certmgr.controller.services.admin.sessions import revoke_user_sessions, start_session
from certmgr.controller.services.admin.users import (
    check_password_policy,
    hash_password,
    verify_password,
)
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    raise_collected,
)

# A source's failures are forgotten after this long without a new one.
WINDOW = dt.timedelta(minutes=15)
# Failures allowed without delay, per (source, account) and per source over all accounts.
FREE_PER_ACCOUNT = 2
FREE_PER_SOURCE = 10
MAX_DELAY_SECONDS = 60
ALL_ACCOUNTS = ""  # the throttle row of a source over every account


class SignInError(PermissionDeniedError):
    """Wrong user name or password, or a disabled account (deliberately vague)."""


class SignInThrottledError(SignInError):
    """Too many recent failures from this source: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        """Say when to try again."""
        self.retry_after = retry_after
        super().__init__(
            "too many failed sign-ins from your address; "
            f"try again in {retry_after} second{'s' if retry_after != 1 else ''}"
        )


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


async def _count_attempt(s: AsyncSession, key: str, name: str, now: dt.datetime) -> None:
    """Count the attempt as a failure in advance, unless the source must wait first.

    Raises:
        SignInThrottledError: Too many recent failures from this source.
    """
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
        await _count_attempt(s, key, name, now)
        user = await user_named(s, name)
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
    repeat: str | None = None,
) -> PasswordChanged:
    """Change the actor's own password; the user's sessions end, and by default their API tokens.

    Both Argon2 computations run in a worker thread before the transaction. Every wrong field is
    named at once (a form shows each beside its field): the current password, the new one and,
    when given, its ``repeat``.

    Raises:
        PermissionDeniedError: The actor is not a signed-in user.
        NotFoundError: The user no longer exists.
        ValidationError: Wrong current password, a weak new one or a repeat that differs
            (:class:`FieldsError` when several are wrong).
        ConflictError: The password changed meanwhile.
    """
    if actor.user_id is None:
        raise PermissionDeniedError("only a signed-in user can change a password")
    async with db.reader() as s:
        user = await s.get(User, actor.user_id)
        if user is None:
            raise NotFoundError("user no longer exists")
        old_hash, username = user.password_hash, user.username
    problems: list[ValidationError] = []
    if not current:
        problems.append(ValidationError("enter your current password", field="current_password"))
    elif not await verify_password(old_hash, current[:1024]):
        problems.append(ValidationError("the current password is wrong", field="current_password"))
    elif new == current:
        problems.append(
            ValidationError(
                "the new password must differ from the current one", field="new_password"
            )
        )
    if not any(p.field == "new_password" for p in problems):
        try:
            check_password_policy(new, username=username, field="new_password")
        except ValidationError as err:
            problems.append(err)
    if repeat is not None and repeat != new:
        problems.append(
            ValidationError(
                "the two new passwords differ: type the new one again",
                field="new_password_again",
            )
        )
    raise_collected(problems)
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
