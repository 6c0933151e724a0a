"""The audit record of every private-key release: who, what and to whom (DESIGN 8, Roles).

The permission itself is :meth:`certmgr.controller.domain.actors.Actor.require_key_release`,
called first thing by every service that puts key material into a package, an installer, an
agent's queue, a download link or an export.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Agent,
    AuditEvent,
    CertificateDefinition,
    CertificateRequest,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock

ACTION = "key.release"


def record_key_release(
    s: AsyncSession,
    actor: Actor,
    *,
    what: str,
    to_whom: str,
    definition: tuple[int, str] | None = None,
    key_id: int | None = None,
    clock: Clock,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add the ``key.release`` audit event to the caller's transaction.

    Args:
        s: The session of the change that releases the key.
        actor: Who releases it (the audit row's actor).
        what: The form, e.g. ``"conventional-package"``, ``"export"``, ``"agent-install"``.
        to_whom: Where it goes: a file name, recipients, an agent.
        definition: The definition's id and name, when the key belongs to one.
        key_id: The private key's id, when known.
        clock: Time source.
        detail: More facts (never secrets).

    Returns:
        The audit event.
    """
    facts: dict[str, Any] = {"what": what, "to": to_whom[:500]}
    if definition is not None:
        facts["definition_id"], facts["definition"] = definition
    if key_id is not None:
        facts["key"] = key_id
    facts.update(detail or {})
    entity_type, entity_id = ("definition", definition[0]) if definition else ("key", key_id)
    return audit(s, actor, ACTION, entity_type, entity_id, facts, clock=clock)


async def start_key_on_agent(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    definition_ref: str | int,
    agent_id: int,
    clock: Clock,
) -> CertificateRequest:
    """Start a request whose key an agent makes, and audit it as a key release to that agent.

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: No such definition or agent.
        ConflictError: The agent is not approved, or the definition has an open request.
    """
    # agents imports deployments, which imports this module: import the service when used
    from certmgr.controller.services.agents.work import request_key_on_agent

    actor.require_key_release("having an agent make the key", f"agent {agent_id}")
    req: CertificateRequest = await request_key_on_agent(
        db, vault, actor, definition_ref, agent_id, clock
    )
    async with db.transaction() as s:
        d = await s.get(CertificateDefinition, req.definition_id)
        agent = await s.get(Agent, agent_id)
        record_key_release(
            s,
            actor,
            what="key-on-agent",
            to_whom=f"agent {agent_id} ({agent.name if agent else '?'})",
            definition=(req.definition_id, d.name if d else ""),
            clock=clock,
            detail={"request": req.id},
        )
    return req
