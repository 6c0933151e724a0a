"""Side effects after commit, handed to services as objects: the follow-up of an agent's install."""

from __future__ import annotations

import asyncio
import logging

from certmgr.controller.background import Background
from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.admin.settings import mail_configured
from certmgr.controller.services.deployment.checks import InstallToConfirm, confirm_installs
from certmgr.controller.services.notification.install_notices import send_install_notification
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.text import error_text

logger = logging.getLogger(__name__)


class InstallFollowUp:
    """After an agent installed a package: the deploy check in the background, then the notification.

    The agent gets its answer once the report is stored; the check (which may probe for several
    seconds while a reloaded server drains) runs as a bounded background task. Reports that
    arrive within :data:`GATHER` seconds of each other, or while earlier checks run, are checked
    together (:func:`confirm_installs`: one read, their probes at once, one write transaction);
    at most :data:`BATCHES_AT_ONCE` batches run at a time, so one slow server holds up only its
    own batch.
    """

    BATCHES_AT_ONCE = 4
    BATCH = 500
    GATHER = 0.1

    def __init__(
        self, db: Database, vault: MasterKey, clock: Clock, background: Background
    ) -> None:
        """Follow installs up on ``db``, with tasks on ``background``."""
        self._db, self._vault, self._clock = db, vault, clock
        self._background = background
        self._waiting: list[tuple[InstallToConfirm, str]] = []
        self._running = 0
        self._gathering = False  # a batch is being gathered: new reports join it

    def __call__(self, deployment_id: int, actor: Actor, how: str) -> None:
        """Start the deploy check of ``deployment_id`` (``how`` goes into the install notification)."""
        self._waiting.append((InstallToConfirm(deployment_id, actor), how))
        if not self._gathering and self._running < self.BATCHES_AT_ONCE:
            self._running += 1
            self._gathering = True
            self._background.spawn(
                f"deploy check of deployment {deployment_id}", self._confirm_waiting
            )

    async def _confirm_waiting(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.GATHER)  # reports that arrive together join this batch
                self._gathering = False
                batch = self._waiting[: self.BATCH]
                del self._waiting[: self.BATCH]
                try:
                    await self._confirm(batch)
                except Exception as err:  # noqa: BLE001 - logged; what waits behind it still runs
                    logger.error(  # noqa: TRY400 - no traceback: its frames may hold secrets
                        "deploy checks of deployments %s failed: %s",
                        ", ".join(str(i.deployment_id) for i, _ in batch),
                        error_text(err),
                    )
                if not self._waiting or self._gathering:
                    return  # nothing left, or another task gathers what came meanwhile
                self._gathering = True
        finally:
            self._running -= 1

    async def _confirm(self, batch: list[tuple[InstallToConfirm, str]]) -> None:
        if not batch:
            return
        passed = await confirm_installs(self._db, [i for i, _ in batch], self._clock)
        confirmed = [(i, how) for (i, how), ok in zip(batch, passed, strict=True) if ok]
        if not confirmed or not await mail_configured(self._db):
            return  # nobody to tell (what the notification itself would find, one read each)
        for item, how in confirmed:
            try:
                await send_install_notification(
                    self._db, self._vault, item.actor, item.deployment_id, self._clock, how=how
                )
            except Exception as err:  # noqa: BLE001 - one failed notice must not stop the rest
                logger.error(  # noqa: TRY400 - no traceback: its frames may hold secrets
                    "install notification for deployment %s failed: %s",
                    item.deployment_id,
                    error_text(err),
                )
