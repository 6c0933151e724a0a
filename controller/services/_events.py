"""Events between capabilities: acquisition publishes "current certificate switched", others subscribe at start-up.

Acquisition does not import the capabilities that act on a new current certificate (agents
auto-install it); they subscribe once when the process starts (``certmgr.controller.effects``),
so the dependency runs one way only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import Actor
    from certmgr.controller.vault import MasterKey
    from certmgr.shared.clock import Clock


@dataclass(frozen=True)
class CertificateSwitched:
    """A definition has a new current certificate (a renewal or a received certificate is done)."""

    definition_id: int
    actor: Actor


@dataclass(frozen=True)
class FollowUp:
    """What the subscribers did, for the request's history."""

    queued: int = 0
    failures: tuple[str, ...] = ()


L = TypeVar("L")


class _Hub(Generic[L]):
    """Subscribers of one event, in the order they subscribed (subscribing twice keeps one)."""

    def __init__(self) -> None:
        """No subscribers yet."""
        self._listeners: list[L] = []

    def subscribe(self, listener: L) -> None:
        """Call ``listener`` for every event from now on."""
        if listener not in self._listeners:
            self._listeners.append(listener)


SwitchListener = Callable[
    ["Database", "MasterKey", CertificateSwitched, "Clock"], Awaitable[FollowUp]
]


class SwitchListeners(_Hub[SwitchListener]):
    """The subscribers of "current certificate switched"."""

    async def publish(
        self, db: Database, vault: MasterKey, event: CertificateSwitched, clock: Clock
    ) -> FollowUp:
        """Tell every subscriber, one after another; their follow-ups are added up.

        Subscribers report their own failures in :class:`FollowUp`; they do not raise.
        """
        queued, failures = 0, list[str]()
        for listener in tuple(self._listeners):
            done = await listener(db, vault, event, clock)
            queued += done.queued
            failures += done.failures
        return FollowUp(queued, tuple(failures))


CERTIFICATE_SWITCHED = SwitchListeners()
"""The process's one hub for the switch event (filled at start-up, read-only afterwards)."""


@dataclass(frozen=True)
class CertificatesChanged:
    """Definitions whose certificates changed: imported, received, issued or switched to."""

    definition_ids: tuple[int, ...]
    actor: Actor


ChangeListener = Callable[["Database", CertificatesChanged, "Clock"], Awaitable[None]]


class ChangeListeners(_Hub[ChangeListener]):
    """The subscribers of "certificates changed"."""

    async def publish(self, db: Database, event: CertificatesChanged, clock: Clock) -> None:
        """Tell every subscriber (after the change is committed); nothing when no definition changed."""
        if not event.definition_ids:
            return
        for listener in tuple(self._listeners):
            await listener(db, event, clock)


CERTIFICATES_CHANGED = ChangeListeners()
"""Monitoring subscribes to judge the changed definitions at once (findings and alerts)."""
