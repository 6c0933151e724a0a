"""Can notifications go out? What the dashboard and the outbox say about each message.

A notification that cannot go out is failing, not "went out": with no mail server or no
administrator address the dashboard says so and links to Settings, and every message shows
one of three states (:func:`delivery_state`): sent, queued, or could not be sent, with why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Finding, OutboxMessage
from certmgr.controller.domain.status import Badge
from certmgr.controller.services.admin.settings import load_general_settings, mail_configured
from certmgr.controller.services.monitoring.config import load_notify_config

NO_MAIL_SERVER = "no mail server is set: e-mails cannot be sent"
NO_ADMIN_ADDRESS = "no administrator e-mail address is set: alerts and the daily digest go nowhere"


@dataclass(frozen=True)
class Delivery:
    """A notification's state in words: ``sent``, ``queued`` or ``could not be sent`` and why."""

    badge: Badge
    why: str = ""


def delivery_state(
    channel: str, state: str, attempts: int, last_error: str, *, mail_ready: bool
) -> Delivery:
    """The one mapping from an outbox message to what screens say about it."""
    if state == "sent":
        return Delivery(Badge("sent", "ok"))
    if state == "failed":
        return Delivery(Badge("could not be sent", "bad"), last_error or "gave up after retries")
    if channel == "email" and not mail_ready:
        return Delivery(Badge("could not be sent", "bad"), NO_MAIL_SERVER + " (Settings)")
    if attempts > 0 and last_error:
        return Delivery(Badge("could not be sent", "bad"), f"{last_error}; trying again")
    return Delivery(Badge("queued", "warn"))


@dataclass(frozen=True)
class NotificationHealth:
    """Why notifications cannot go out (empty when they can), and what is waiting."""

    problems: tuple[str, ...]
    undelivered: int
    unsent_alerts: int

    @property
    def failing(self) -> bool:
        """True when anything cannot go out."""
        return bool(self.problems or self.undelivered or self.unsent_alerts)


async def notification_health(db: Database) -> NotificationHealth:
    """Mail server and administrator address set? Messages not delivered, critical findings never e-mailed."""
    general = await load_general_settings(db)
    ready = await mail_configured(db)
    problems = []
    if not ready:
        problems.append(NO_MAIL_SERVER)
    if not general.admin_email.strip():
        problems.append(NO_ADMIN_ADDRESS)
    stuck = (OutboxMessage.state == "failed") | (
        (OutboxMessage.state == "pending") & (OutboxMessage.attempts > 0)
    )
    if not ready:  # queued e-mails cannot go out either
        stuck = stuck | ((OutboxMessage.state == "pending") & (OutboxMessage.channel == "email"))
    immediate = (await load_notify_config(db)).immediate_critical
    async with db.reader() as s:
        undelivered = int(
            (await s.execute(select(func.count(OutboxMessage.id)).where(stuck))).scalar_one()
        )
        unsent = 0
        if immediate:  # critical findings are to be e-mailed at once: any that were not?
            unsent = int(
                (
                    await s.execute(
                        select(func.count(Finding.id)).where(
                            Finding.state == "open",
                            Finding.severity == "critical",
                            Finding.notified.is_(False),
                        )
                    )
                ).scalar_one()
            )
    return NotificationHealth(tuple(problems), undelivered, unsent)
