"""Who is acting: a user, the CLI, the scheduler."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import StrEnum

from certmgr.shared.errors import PermissionDeniedError


class Role(StrEnum):
    """Roles; ``system`` is for the controller's own jobs."""

    ADMIN = "admin"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """The one who performs a service call."""

    name: str
    role: Role
    source: str = ""
    user_id: int | None = None

    def require_admin(self, what: str) -> None:
        """Raise unless the actor may administer.

        Raises:
            PermissionDeniedError: A plain user asked for an admin action.
        """
        if self.role not in (Role.ADMIN, Role.SYSTEM):
            raise PermissionDeniedError(
                f"{what} needs the Admin role", actor=self.name, permission="admin"
            )


def cli_actor() -> Actor:
    """The local operator running the ``certmgr`` command (has admin rights on the home)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(name=f"cli:{user}", role=Role.ADMIN, source="cli")


SYSTEM = Actor(name="system", role=Role.SYSTEM, source="controller")
