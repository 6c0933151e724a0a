"""Who is acting: a user, the CLI, the scheduler; and what each role may do."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from certmgr.shared.errors import PermissionDeniedError


class Role(StrEnum):
    """Roles; ``system`` is for the controller's own jobs."""

    ADMIN = "admin"
    USER = "user"
    SYSTEM = "system"


class Permission(StrEnum):
    """Rights beyond the daily work every signed-in user does."""

    ADMIN = "admin"
    # Handing out a private key in any form: export, a conventional or protected package, a
    # one-click installer, an install to (or binding a deployment to) an agent, the mailed
    # download link of a package, a key made on an agent (DESIGN 8, Roles).
    RELEASE_KEY = "release-key"


ROLE_PERMISSIONS = MappingProxyType(
    {
        Role.ADMIN: frozenset({Permission.ADMIN, Permission.RELEASE_KEY}),
        Role.SYSTEM: frozenset({Permission.ADMIN, Permission.RELEASE_KEY}),
        Role.USER: frozenset[Permission](),
    }
)

KEY_RELEASE_REFUSED = "hands out a private key, which needs the Admin role"


@dataclass(frozen=True)
class Actor:
    """The one who performs a service call."""

    name: str
    role: Role
    source: str = ""
    user_id: int | None = None

    def may(self, permission: Permission) -> bool:
        """Whether the actor's role carries ``permission``."""
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    @property
    def may_release_keys(self) -> bool:
        """Whether the actor may release private keys (for screens that hide such actions)."""
        return self.may(Permission.RELEASE_KEY)

    def require_admin(self, what: str) -> None:
        """Raise unless the actor may administer.

        Raises:
            PermissionDeniedError: A plain user asked for an admin action.
        """
        if not self.may(Permission.ADMIN):
            raise PermissionDeniedError(
                f"{what} needs the Admin role", actor=self.name, permission="admin"
            )

    def require_key_release(self, what: str, to_whom: str) -> None:
        """Raise unless the actor may release private keys.

        Args:
            what: The action, e.g. ``"preparing a conventional package"``.
            to_whom: Where the key would go (agent, recipient, file), for the message.

        Raises:
            PermissionDeniedError: A plain user asked to hand out a private key.
        """
        if not self.may(Permission.RELEASE_KEY):
            raise PermissionDeniedError(
                f"{what} (to {to_whom}) {KEY_RELEASE_REFUSED}",
                actor=self.name,
                permission=Permission.RELEASE_KEY.value,
            )


def cli_actor() -> Actor:
    """The local operator running the ``certmgr`` command (has admin rights on the home)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(name=f"cli:{user}", role=Role.ADMIN, source="cli")


SYSTEM = Actor(name="system", role=Role.SYSTEM, source="controller")
