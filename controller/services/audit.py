"""Audit events, written in the same transaction as the change they record."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import AuditEvent
from certmgr.controller.domain.actors import Actor
from certmgr.shared.clock import Clock, SystemClock

_SYSTEM_CLOCK = SystemClock()


def audit_row(
    actor: Actor,
    action: str,
    entity_type: str = "",
    entity_id: object = "",
    detail: dict[str, Any] | None = None,
    *,
    clock: Clock = _SYSTEM_CLOCK,
) -> dict[str, Any]:
    """The columns of an audit event (for a bulk INSERT of many; :func:`audit` adds one).

    ``detail`` must never hold secrets.
    """
    return {
        "at": clock.now(),
        "actor": actor.name,
        "source": actor.source,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id) if entity_id not in (None, "") else "",
        "detail": detail or {},
    }


def audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity_type: str = "",
    entity_id: object = "",
    detail: dict[str, Any] | None = None,
    *,
    clock: Clock = _SYSTEM_CLOCK,
) -> AuditEvent:
    """Add an audit event to ``session`` (flushed and committed with the caller's change).

    ``detail`` must never hold secrets.
    """
    event = AuditEvent(**audit_row(actor, action, entity_type, entity_id, detail, clock=clock))
    session.add(event)
    return event
