"""The one state-with-history helper: a checked state change, its history event and its audit record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.base import Base
from certmgr.controller.db.models import AuditEvent
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit_row
from certmgr.shared.clock import Clock

MAX_MESSAGE = 4000
"""History messages are cut here (requests and deployments alike)."""


class Stateful(Protocol):
    """A row with a state machine and a history (a request, a deployment)."""

    id: Any
    status: Any
    updated_at: Any


S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class History(Generic[S]):
    """How one aggregate records its history.

    Attributes:
        kind: The audit prefix and entity (``request`` -> ``request.ordered`` on entity ``request``).
        event_type: The event model (``RequestEvent``, ``DeploymentEvent``).
        owner_field: The event's column naming its owner (``request_id``).
        check: The state machine's check; raises ``InvalidTransitionError``.
    """

    kind: str
    event_type: Callable[..., Base]
    owner_field: str
    check: Callable[[str, str, S], object]

    def event_row(
        self,
        row: Stateful,
        actor: Actor,
        event: str,
        message: str,
        clock: Clock,
        detail: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The columns of a history event (the message cut at :data:`MAX_MESSAGE` characters)."""
        return {
            self.owner_field: row.id,
            "at": clock.now(),
            "actor": actor.name,
            "event": event,
            "message": message[:MAX_MESSAGE],
            "detail": detail or {},
        }

    def add_event(
        self,
        s: AsyncSession,
        row: Stateful,
        actor: Actor,
        event: str,
        message: str,
        clock: Clock,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append to the row's history (the message cut at :data:`MAX_MESSAGE` characters)."""
        s.add(self.event_type(**self.event_row(row, actor, event, message, clock, detail)))

    def move_rows(
        self,
        row: Stateful,
        actor: Actor,
        new: S,
        message: str,
        clock: Clock,
        detail: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """As :meth:`move`, with the history event and audit record returned as columns.

        For a bulk INSERT of many state changes at once (the caller inserts both).

        Raises:
            InvalidTransitionError: Not allowed from the current state.
        """
        self.check(f"{self.kind} {row.id}", row.status, new)
        old = row.status
        row.status = new.value
        row.updated_at = clock.now()
        detail = {"from": old, **(detail or {})}
        return (
            self.event_row(row, actor, new.value, message, clock, detail),
            audit_row(actor, f"{self.kind}.{new.value}", self.kind, row.id, detail, clock=clock),
        )

    def move(
        self,
        s: AsyncSession,
        row: Stateful,
        actor: Actor,
        new: S,
        message: str,
        clock: Clock,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Change state (checked against the state machine), with a history event and an audit record.

        Raises:
            InvalidTransitionError: Not allowed from the current state.
        """
        event, record = self.move_rows(row, actor, new, message, clock, detail)
        s.add(self.event_type(**event))
        s.add(AuditEvent(**record))
