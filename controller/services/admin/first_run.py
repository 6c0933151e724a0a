"""The first-run checklist on the dashboard of a new home: each step ticks itself when done."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AuditEvent, CertificateDefinition, Deployment
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.admin.console_tls import CONSOLE_DEFINITION
from certmgr.controller.services.admin.settings import load_general_settings, mail_configured
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock

CA_TRUSTED = "first-run.ca-trusted"
"""Audit action of "I have added the private CA to our trust stores" (nothing else can tell)."""
CA_INSTALLER = "ca.installer-create"


@dataclass(frozen=True)
class ChecklistItem:
    """One step: what to do, where, whether it is done, and how the console knows."""

    key: str
    label: str
    href: str
    done: bool
    hint: str


@dataclass(frozen=True)
class Checklist:
    """The steps of a new home; shown until every one is done."""

    items: tuple[ChecklistItem, ...]

    @property
    def complete(self) -> bool:
        """Every step done."""
        return all(i.done for i in self.items)

    @property
    def done_count(self) -> int:
        """How many steps are done."""
        return sum(1 for i in self.items if i.done)


async def first_run_checklist(db: Database) -> Checklist:
    """The four steps from a new home to a first deployed certificate, each checked from the data."""
    mail = await mail_configured(db)
    general = await load_general_settings(db)
    async with db.reader() as s:
        trusted = (
            await s.execute(
                select(AuditEvent.id)
                .where(AuditEvent.action.in_((CA_TRUSTED, CA_INSTALLER)))
                .limit(1)
            )
        ).first() is not None
        definitions = int(
            (
                await s.execute(
                    select(func.count(CertificateDefinition.id)).where(
                        CertificateDefinition.name != CONSOLE_DEFINITION
                    )
                )
            ).scalar_one()
        )
        deployments = int((await s.execute(select(func.count(Deployment.id)))).scalar_one())
    return Checklist(
        (
            ChecklistItem(
                "mail",
                "Set the mail server and the administrator's e-mail address",
                "/settings",
                mail and bool(general.admin_email.strip()),
                "so that expiry warnings and install requests reach someone",
            ),
            ChecklistItem(
                "ca",
                "Trust the private CA on your computers and servers",
                "/ca",
                trusted,
                "download its certificate or create the CA installer on the Private CA page",
            ),
            ChecklistItem(
                "definition",
                "Import your certificates or create a first definition",
                "/import",
                definitions > 0,
                "import reads PEM, DER, PKCS#12 and Java keystores; or start from a new definition",
            ),
            ChecklistItem(
                "deployment",
                "Make a first deployment",
                "/deployments",
                deployments > 0,
                "on a definition's page, add a deployment to the server that uses it",
            ),
        )
    )


async def mark_ca_trusted(db: Database, actor: Actor, clock: Clock) -> None:
    """Record that the private CA was added to the trust stores (ticks the checklist step)."""
    async with db.transaction() as s:
        audit(s, actor, CA_TRUSTED, "ca", "", {}, clock=clock)
