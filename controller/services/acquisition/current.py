"""The current certificate by hand: switch to any valid one, roll back, hold a received one until a set time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, CertificateDefinition
from certmgr.controller.db.queries.definitions import (
    certificate_of_definition,
    definition_by_ref,
    definitions_due_to_switch,
    switch_events,
)
from certmgr.controller.db.queries.requests import held_request_of
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import RequestStatus
from certmgr.controller.services._events import CERTIFICATE_SWITCHED, CertificateSwitched
from certmgr.controller.services.acquisition.requests import move
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError


def _usable(c: Certificate, now: dt.datetime) -> None:
    if c.not_after <= now:
        raise ConflictError(
            f"certificate #{c.id} expired on {c.not_after:%Y-%m-%d}; only a valid certificate can be current"
        )
    if c.not_before > now:
        raise ConflictError(
            f"certificate #{c.id} is not valid before {c.not_before:%Y-%m-%d %H:%M} UTC; "
            "hold it until then instead"
        )


async def _make_current(
    s: AsyncSession,
    actor: Actor,
    d: CertificateDefinition,
    c: Certificate,
    clock: Clock,
    *,
    action: str,
    why: str,
) -> None:
    old = d.current_certificate_id
    d.current_certificate_id = c.id
    if d.held_certificate_id == c.id:
        d.held_certificate_id = None
        d.switch_at = None
    d.updated_at = clock.now()
    audit(
        s,
        actor,
        action,
        "definition",
        d.id,
        {"from": old, "to": c.id, "sha256": c.sha256, "why": why},
        clock=clock,
    )
    req = await held_request_of(s, d.id, c.id)
    if req is not None:
        move(
            s,
            req,
            actor,
            RequestStatus.CURRENT_SWITCHED,
            f"certificate #{c.id} is now current",
            clock,
        )
        move(s, req, actor, RequestStatus.DONE, "done", clock)


async def _published(
    db: Database, vault: MasterKey, actor: Actor, def_id: int, clock: Clock
) -> None:
    # agent deployments get the new current certificate (the subscribers report, never raise)
    await CERTIFICATE_SWITCHED.publish(db, vault, CertificateSwitched(def_id, actor), clock)


async def switch_current_to(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    ref: str | int,
    certificate_id: int,
    clock: Clock,
) -> CertificateDefinition:
    """Make one of the definition's valid certificates current (audited with the one it replaces).

    Raises:
        NotFoundError: No such definition, or the certificate is not one of its certificates.
        ConflictError: It is already current, expired, not valid yet, or the definition is archived.
    """
    async with db.transaction() as s:
        d = await definition_by_ref(s, ref)
        if d.archived:
            raise ConflictError(f"definition {d.name!r} is archived; restore it first")
        c = await certificate_of_definition(s, d.id, certificate_id)
        if d.current_certificate_id == c.id:
            raise ConflictError(f"certificate #{c.id} is already current")
        _usable(c, clock.now())
        await _make_current(s, actor, d, c, clock, action="definition.switch-current", why="manual")
    await _published(db, vault, actor, d.id, clock)
    return d


async def rollback_current(
    db: Database, vault: MasterKey, actor: Actor, ref: str | int, clock: Clock
) -> CertificateDefinition:
    """Go back to the certificate that was current before the last switch.

    Raises:
        NotFoundError: No such definition.
        ConflictError: There was no switch to undo, or the previous certificate is gone or
            no longer valid.
    """
    async with db.transaction() as s:
        d = await definition_by_ref(s, ref)
        if d.archived:
            raise ConflictError(f"definition {d.name!r} is archived; restore it first")
        last = next(
            (
                e
                for e in await switch_events(s, d.id)
                if e.detail.get("to") == d.current_certificate_id
            ),
            None,
        )
        previous = last.detail.get("from") if last is not None else None
        if not isinstance(previous, int):
            raise ConflictError(
                f"definition {d.name!r} has no previous certificate to roll back to"
            )
        c = await certificate_of_definition(s, d.id, previous)
        _usable(c, clock.now())
        await _make_current(s, actor, d, c, clock, action="definition.rollback", why="rollback")
    await _published(db, vault, actor, d.id, clock)
    return d


async def hold_certificate(
    s: AsyncSession,
    actor: Actor,
    d: CertificateDefinition,
    c: Certificate,
    until: dt.datetime,
    clock: Clock,
) -> None:
    """Keep ``c`` back (inside the caller's transaction) until ``until`` or until it is valid, whichever is later."""
    when = max(until, c.not_before)
    d.held_certificate_id = c.id
    d.switch_at = when
    d.updated_at = clock.now()
    audit(
        s,
        actor,
        "definition.hold",
        "definition",
        d.id,
        {"certificate": c.id, "switch_at": when.isoformat(), "sha256": c.sha256},
        clock=clock,
    )


async def hold_existing(
    db: Database,
    actor: Actor,
    ref: str | int,
    certificate_id: int,
    until: dt.datetime,
    clock: Clock,
) -> CertificateDefinition:
    """Hold one of the definition's certificates until ``until`` (then the scheduler switches to it).

    Raises:
        NotFoundError: No such definition or certificate of it.
        ConflictError: It is already current, expired, or the definition is archived.
        ValidationError: ``until`` is naive.
    """
    async with db.transaction() as s:
        d = await definition_by_ref(s, ref)
        if d.archived:
            raise ConflictError(f"definition {d.name!r} is archived; restore it first")
        c = await certificate_of_definition(s, d.id, certificate_id)
        if d.current_certificate_id == c.id:
            raise ConflictError(f"certificate #{c.id} is already current")
        if c.not_after <= clock.now():
            raise ConflictError(f"certificate #{c.id} expired on {c.not_after:%Y-%m-%d}")
        await hold_certificate(s, actor, d, c, until, clock)
        return d


async def release_hold(
    db: Database, actor: Actor, ref: str | int, clock: Clock
) -> CertificateDefinition:
    """Cancel a held switch (the certificate stays in the definition's history).

    Raises:
        NotFoundError: No such definition.
        ConflictError: Nothing is held.
    """
    async with db.transaction() as s:
        d = await definition_by_ref(s, ref)
        if d.held_certificate_id is None:
            raise ConflictError(f"definition {d.name!r} holds no certificate")
        audit(
            s,
            actor,
            "definition.hold-cancelled",
            "definition",
            d.id,
            {"certificate": d.held_certificate_id},
            clock=clock,
        )
        d.held_certificate_id = None
        d.switch_at = None
        d.updated_at = clock.now()
        return d


@dataclass(frozen=True)
class HeldSwitches:
    """What one run of :func:`switch_held_due` did."""

    switched: list[int]
    """Definitions with a new current certificate."""
    waiting: list[int]
    """Due, but the certificate is not valid yet."""

    def to_json(self) -> dict[str, int]:
        """Counts for the job summary."""
        return {"switched": len(self.switched), "waiting": len(self.waiting)}


async def switch_held_due(
    db: Database, vault: MasterKey, actor: Actor, clock: Clock
) -> HeldSwitches:
    """Make every held certificate whose time has come current (the scheduler runs this)."""
    now = clock.now()
    switched: list[int] = []
    waiting: list[int] = []
    async with db.transaction() as s:
        for d in await definitions_due_to_switch(s, now):
            if d.archived or d.held_certificate_id is None:
                continue
            c = await certificate_of_definition(s, d.id, d.held_certificate_id)
            if c.not_before > now:
                waiting.append(d.id)
                continue
            if c.not_after <= now:
                d.held_certificate_id = None
                d.switch_at = None
                audit(
                    s,
                    actor,
                    "definition.hold-expired",
                    "definition",
                    d.id,
                    {"certificate": c.id},
                    clock=clock,
                )
                continue
            await _make_current(
                s, actor, d, c, clock, action="definition.switch-current", why="held until due"
            )
            switched.append(d.id)
    for def_id in switched:
        await _published(db, vault, actor, def_id, clock)
    return HeldSwitches(switched, waiting)
