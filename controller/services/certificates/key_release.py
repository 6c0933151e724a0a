"""The audit record of every private-key release: who, what and to whom (DESIGN 8, Roles).

The permission itself is :meth:`certmgr.controller.domain.actors.Actor.require_key_release`,
called first thing by every service that puts key material into a package, an installer, an
agent's queue, a download link or an export.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import (
    AuditEvent,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit
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
