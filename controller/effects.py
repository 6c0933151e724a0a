"""Side effects after commit, handed to services as objects: the follow-up of an agent's install."""

from __future__ import annotations

from certmgr.controller.background import Background
from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.deployment.checks import confirm_install
from certmgr.controller.services.notification.install_notices import send_install_notification
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock


class InstallFollowUp:
    """After an agent installed a package: the deploy check in the background, then the notification.

    The agent gets its answer once the report is stored; the check (which may probe for several
    seconds while a reloaded server drains) runs as a bounded background task.
    """

    def __init__(
        self, db: Database, vault: MasterKey, clock: Clock, background: Background
    ) -> None:
        """Follow installs up on ``db``, with tasks on ``background``."""
        self._db, self._vault, self._clock = db, vault, clock
        self._background = background

    def __call__(self, deployment_id: int, actor: Actor, how: str) -> None:
        """Start the deploy check of ``deployment_id`` (``how`` goes into the install notification)."""
        self._background.spawn(
            f"deploy check of deployment {deployment_id}",
            lambda: self._confirm(deployment_id, actor, how),
        )

    async def _confirm(self, deployment_id: int, actor: Actor, how: str) -> None:
        if await confirm_install(self._db, actor, deployment_id, self._clock):
            await send_install_notification(
                self._db, self._vault, actor, deployment_id, self._clock, how=how
            )
