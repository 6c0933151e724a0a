"""A new current certificate goes to the definition's agent deployments by itself (auto-deploy).

Subscribed at start-up to acquisition's "current certificate switched" event
(:data:`certmgr.controller.services._events.CERTIFICATE_SWITCHED`), so acquisition never imports agents.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, CertificateDefinition, Deployment
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.services._events import CertificateSwitched, FollowUp
from certmgr.controller.services.agents.wakeups import wakeups_for
from certmgr.controller.services.agents.work import QueuedInstall, queue_installs
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import CertmgrError


@dataclass(frozen=True)
class AutoInstall:
    """What sending a new current certificate to a definition's agents did."""

    queued: list[QueuedInstall]
    failed: list[tuple[int, str]]  # deployment id, why it was not queued


async def auto_install_after_switch(
    db: Database, vault: MasterKey, actor: Actor, definition_id: int, clock: Clock
) -> AutoInstall:
    """After a new current certificate: send it to every agent deployment of the definition (when it allows).

    One deployment that cannot take it (its agent revoked meanwhile, a state that cannot move) does
    not hold back the others: it is named in ``failed``.
    """
    async with db.reader() as s:
        d = await s.get(CertificateDefinition, definition_id)
        if d is None or not d.auto_deploy:
            return AutoInstall([], [])
        rows = (
            await s.execute(
                select(Deployment.id, Deployment.target_type)
                .join(Agent, Agent.id == Deployment.agent_id)
                .where(
                    Deployment.definition_id == definition_id,
                    Deployment.delivery == "agent",
                    Deployment.status != "retired",
                    Agent.status == "approved",
                )
            )
        ).all()
    dep_ids = [
        dep_id
        for dep_id, software in rows
        if (sw := SOFTWARE.get(software)) is not None and sw.target_type is not None
    ]
    failed: list[tuple[int, str]] = []
    try:
        queued = await queue_installs(db, vault, actor, dep_ids, clock) if dep_ids else []
    except CertmgrError:
        queued = []
        for dep_id in dep_ids:  # the batch is all or none: find which ones can go
            try:
                queued += await queue_installs(db, vault, actor, [dep_id], clock)
            except CertmgrError as err:
                failed.append((dep_id, str(err)))
    await wakeups_for(db).notify(*dict.fromkeys(str(q.agent_id) for q in queued))
    return AutoInstall(queued, failed)


async def install_after_switch(
    db: Database, vault: MasterKey, event: CertificateSwitched, clock: Clock
) -> FollowUp:
    """The subscriber of "current certificate switched": auto-install, failures reported, never raised."""
    try:
        result = await auto_install_after_switch(db, vault, event.actor, event.definition_id, clock)
    except CertmgrError as err:  # e.g. the signing key cannot be read: nothing was queued
        return FollowUp(failures=(f"could not queue the new certificate for agents: {err}",))
    return FollowUp(
        len(result.queued), tuple(f"deployment {dep_id}: {why}" for dep_id, why in result.failed)
    )
