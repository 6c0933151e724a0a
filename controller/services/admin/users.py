"""Users: creation, password hashing (Argon2id, in a worker thread), verification."""

from __future__ import annotations

import asyncio
import functools
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import User as User  # the users this module returns
from certmgr.controller.db.queries.users import all_users, other_enabled_admins, user_named
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.admin.sessions import revoke_user_sessions
from certmgr.controller.services.admin.settings import check_email
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import ConflictError, NotFoundError, ValidationError

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# argon2-cffi's defaults are Argon2id (RFC 9106 "low memory" profile); the hasher holds no state.
_HASHER = PasswordHasher()


def _hash_blocking(password: str) -> str:
    return _HASHER.hash(password)


def _verify_blocking(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash_blocking() -> str:
    # Computed once, on first need (never at import), in a worker thread like every hash.
    return _HASHER.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    """Argon2id hash of a password, computed in a worker thread (about half a second of CPU).

    Call it outside any database transaction: it would hold SQLite's write lock meanwhile.
    """
    return await asyncio.to_thread(_hash_blocking, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; never raises on a bad hash.

    ``None`` (an unknown user) is checked against a dummy hash, so that answer takes as long
    as any other. The work runs in a worker thread, never on the event loop.
    """
    if password_hash is None:
        dummy = await asyncio.to_thread(_dummy_hash_blocking)
        await asyncio.to_thread(_verify_blocking, dummy, password)
        return False
    return await asyncio.to_thread(_verify_blocking, password_hash, password)


def generate_password() -> str:
    """A random one-time password (about 120 bits)."""
    return secrets.token_urlsafe(15)


def check_password_policy(password: str, *, username: str = "", field: str = "password") -> None:
    """Refuse weak or absurd passwords.

    Raises:
        ValidationError: Too short, too long, or the user name itself.
    """
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"password must have at least {MIN_PASSWORD} characters", field=field)
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"password must have at most {MAX_PASSWORD} characters", field=field)
    if username and password.lower() == username.lower():
        raise ValidationError("password must not be the user name", field=field)


def check_username(username: str) -> str:
    """Validate a user name.

    Raises:
        ValidationError: Empty, too long or with odd characters.
    """
    name = username.strip()
    if not _USERNAME.match(name):
        raise ValidationError(
            "user name: 1-100 letters, digits, '.', '_', '@' or '-'", field="username"
        )
    return name


async def add_user(
    db: Database,
    actor: Actor,
    *,
    username: str,
    role: Role,
    password: str,
    must_change_password: bool,
    email: str = "",
    enforce_policy: bool = True,
    clock: Clock | None = None,
) -> User:
    """Add a user: checks, then the Argon2 hash in a worker thread, then one short transaction.

    Raises:
        PermissionDeniedError: Not an admin.
        ValidationError: Bad name, role or password.
        ConflictError: The name is taken.
    """
    actor.require_admin("managing users")
    name = check_username(username)
    if role not in (Role.ADMIN, Role.USER):
        raise ValidationError("role must be admin or user", field="role")
    if enforce_policy:
        check_password_policy(password, username=name)
    async with db.reader() as s:
        await _name_is_free(s, name)
    password_hash = await hash_password(password)
    async with db.transaction() as s:
        return await _insert_user(
            s,
            actor,
            name=name,
            role=role,
            password_hash=password_hash,
            must_change_password=must_change_password,
            email=email,
            clock=clock,
        )


async def _name_is_free(s: AsyncSession, name: str) -> None:
    if await user_named(s, name) is not None:
        raise ConflictError(f"user {name!r} already exists")


async def _insert_user(
    s: AsyncSession,
    actor: Actor,
    *,
    name: str,
    role: Role,
    password_hash: str,
    must_change_password: bool,
    email: str,
    clock: Clock | None,
) -> User:
    await _name_is_free(s, name)
    now = (clock or SystemClock()).now()
    user = User(
        username=name,
        email=email.strip(),
        role=role.value,
        password_hash=password_hash,
        must_change_password=must_change_password,
        disabled=False,
        created_at=now,
        password_changed_at=now,
    )
    s.add(user)
    await s.flush()
    audit(
        s,
        actor,
        "user.create",
        "user",
        user.id,
        {"username": name, "role": role.value},
        clock=clock or SystemClock(),
    )
    return user


async def list_users(db: Database) -> list[User]:
    """Every user, by name (for the Users screen, the API and ``user list``)."""
    async with db.reader() as s:
        return await all_users(s)


async def _existing(s: AsyncSession, user_id: int) -> User:
    user = await s.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    return user


async def update_user(
    db: Database,
    actor: Actor,
    user_id: int,
    *,
    email: str | None = None,
    role: Role | None = None,
    disabled: bool | None = None,
    clock: Clock | None = None,
) -> User:
    """Change a user's e-mail, role or disabled flag (Admin only; an admin cannot lock themself out).

    Raises:
        PermissionDeniedError: Not an admin.
        NotFoundError: No such user.
        ValidationError: A malformed e-mail address or an unknown role.
        ConflictError: The change would leave no enabled admin, or targets the actor's own role/state.
    """
    actor.require_admin("managing users")
    async with db.transaction() as s:
        user = await _existing(s, user_id)
        changes = await _apply_changes(s, actor, user, email, role, disabled)
        if disabled and "disabled" in changes:
            await revoke_user_sessions(s, user.id, (clock or SystemClock()).now())
        if changes:
            audit(
                s,
                actor,
                "user.update",
                "user",
                user.id,
                {"username": user.username, **changes},
                clock=clock or SystemClock(),
            )
    return user


async def _apply_changes(
    s: AsyncSession,
    actor: Actor,
    user: User,
    email: str | None,
    role: Role | None,
    disabled: bool | None,
) -> dict[str, object]:
    changes: dict[str, object] = {}
    if email is not None and email != user.email:
        user.email = check_email(email, "email")
        changes["email"] = user.email
    if role is not None and role.value != user.role:
        if role not in (Role.ADMIN, Role.USER):
            raise ValidationError("role must be admin or user", field="role")
        if user.id == actor.user_id:
            raise ConflictError("you cannot change your own role")
        if user.role == Role.ADMIN.value:
            await _keep_an_admin(s, user.id)
        user.role = role.value
        changes["role"] = role.value
    if disabled is not None and disabled != user.disabled:
        if user.id == actor.user_id:
            raise ConflictError("you cannot disable yourself")
        if disabled and user.role == Role.ADMIN.value:
            await _keep_an_admin(s, user.id)
        user.disabled = disabled
        changes["disabled"] = disabled
    return changes


async def _keep_an_admin(s: AsyncSession, leaving_id: int) -> None:
    if await other_enabled_admins(s, leaving_id) == 0:
        raise ConflictError("there must stay at least one enabled admin")


async def delete_user(
    db: Database, actor: Actor, user_id: int, *, clock: Clock | None = None
) -> None:
    """Delete a user (their audit history stays).

    Raises:
        PermissionDeniedError: Not an admin.
        NotFoundError: No such user.
        ConflictError: Deleting oneself or the last admin.
    """
    actor.require_admin("managing users")
    async with db.transaction() as s:
        user = await _existing(s, user_id)
        if user.id == actor.user_id:
            raise ConflictError("you cannot delete yourself")
        if user.role == Role.ADMIN.value:
            await _keep_an_admin(s, user.id)
        audit(
            s,
            actor,
            "user.delete",
            "user",
            user.id,
            {"username": user.username},
            clock=clock or SystemClock(),
        )
        await s.delete(user)


async def reset_password(
    db: Database, actor: Actor, user_id: int, *, clock: Clock | None = None
) -> tuple[User, str]:
    """Give a user a new one-time password (returned once; must be changed at next sign-in).

    The user's console sessions end. The Argon2 hash is computed in a worker thread before the
    transaction.

    Raises:
        PermissionDeniedError: Not an admin.
        NotFoundError: No such user.
    """
    actor.require_admin("managing users")
    password = generate_password()
    password_hash = await hash_password(password)
    now = (clock or SystemClock()).now()
    async with db.transaction() as s:
        user = await _existing(s, user_id)
        user.password_hash = password_hash
        user.must_change_password = True
        user.password_changed_at = now
        await revoke_user_sessions(s, user.id, now)
        audit(
            s,
            actor,
            "user.reset-password",
            "user",
            user.id,
            {"username": user.username},
            clock=clock or SystemClock(),
        )
    return user, password
