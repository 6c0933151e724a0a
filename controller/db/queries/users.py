"""Users and their API tokens."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import ApiToken, User
from certmgr.controller.domain.actors import Role


async def user_named(s: AsyncSession, username: str) -> User | None:
    """The user with this exact name, if any."""
    return (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()


async def all_users(s: AsyncSession) -> list[User]:
    """Every user, by name."""
    return list((await s.execute(select(User).order_by(User.username))).scalars().all())


async def other_enabled_admins(s: AsyncSession, user_id: int) -> int:
    """How many enabled admins there are besides user ``user_id``."""
    return int(
        (
            await s.execute(
                select(func.count(User.id)).where(
                    User.role == Role.ADMIN.value, User.disabled.is_(False), User.id != user_id
                )
            )
        ).scalar_one()
    )


async def token_by_hash(s: AsyncSession, token_sha256: str) -> ApiToken | None:
    """The API token stored under this SHA-256, if any."""
    return (
        await s.execute(select(ApiToken).where(ApiToken.token_sha256 == token_sha256))
    ).scalar_one_or_none()


async def tokens_with_owner(
    s: AsyncSession, *, everybody: bool, user_id: int | None = None
) -> list[tuple[ApiToken, str]]:
    """API tokens (everybody's, or those of user ``user_id``) with their owner's name, oldest first."""
    stmt = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if not everybody:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return [(t, u) for t, u in (await s.execute(stmt.order_by(ApiToken.id))).all()]
