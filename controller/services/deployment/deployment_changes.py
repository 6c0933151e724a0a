"""Changing a deployment after creation: edit, monitoring on/off, retire (the server is gone)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Deployment
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.audit import audit
from certmgr.controller.services.deployment.deployments import (
    DeploymentSpec,
    add_event,
    find_deployment,
    move,
    validate_spec,
)
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, ValidationError


@dataclass(frozen=True)
class DeploymentChanges:
    """What to change; ``None`` leaves a field as it is."""

    server_name: str | None = None
    check_host: str | None = None
    check_port: int | None = None
    sni: str | None = None
    delivery: str | None = None
    admin_email: str | None = None
    name: str | None = None
    notes: str | None = None

    def given(self) -> dict[str, Any]:
        """The fields that were given."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def _spec_of(dep: Deployment) -> DeploymentSpec:
    return DeploymentSpec(
        definition_ref=dep.definition_id,
        server_name=dep.server_name,
        software=dep.target_type,
        delivery=dep.delivery,
        common_name=dep.common_name,
        check_host=dep.check_host,
        check_port=dep.check_port,
        sni=dep.sni,
        starttls=dep.starttls,
        admin_email=dep.admin_email,
        monitoring=dep.monitoring,
        production=dep.production,
        target_params=dict(dep.target_params or {}),
        agent_id=dep.agent_id,
        name=dep.name,
        notes=dep.notes,
    )


def _not_retired(dep: Deployment) -> None:
    if dep.status == DeploymentStatus.RETIRED.value:
        raise ConflictError(f"deployment {dep.id} is retired")


async def edit_deployment(
    db: Database, actor: Actor, ref: str | int, changes: DeploymentChanges, clock: Clock
) -> Deployment:
    """Change a deployment's server, check host/port/SNI, delivery, admin e-mail, name or notes.

    Raises:
        NotFoundError: No such deployment.
        ValidationError: A field is wrong (named), or nothing was given.
        ConflictError: The deployment is retired.
    """
    given = changes.given()
    if not given:
        raise ValidationError("nothing to change: give at least one field", field="changes")
    async with db.transaction() as s:
        dep = await find_deployment(s, ref)
        _not_retired(dep)
        old = _spec_of(dep)
        new = validate_spec(replace(old, **given))
        diff: dict[str, Any] = {}
        for key, column in (
            ("server_name", "server_name"),
            ("check_host", "check_host"),
            ("check_port", "check_port"),
            ("sni", "sni"),
            ("delivery", "delivery"),
            ("admin_email", "admin_email"),
            ("name", "name"),
            ("notes", "notes"),
        ):
            before, after = getattr(dep, column), getattr(new, key)
            if before != after:
                diff[key] = {"from": before, "to": after}
                setattr(dep, column, after)
        if diff:
            dep.updated_at = clock.now()
            add_event(
                s,
                dep,
                actor,
                "edited",
                "changed " + ", ".join(k.replace("_", " ") for k in diff),
                clock,
                diff,
            )
            audit(s, actor, "deployment.edit", "deployment", dep.id, diff, clock=clock)
        return dep


async def set_deployment_monitoring(
    db: Database, actor: Actor, ref: str | int, on: bool, clock: Clock
) -> Deployment:
    """Switch scheduled monitoring of a deployment on or off.

    Raises:
        NotFoundError: No such deployment.
        ConflictError: Switching on a retired deployment.
    """
    async with db.transaction() as s:
        dep = await find_deployment(s, ref)
        if on:
            _not_retired(dep)
        if dep.monitoring != on:
            dep.monitoring = on
            dep.updated_at = clock.now()
            word = "on" if on else "off"
            add_event(s, dep, actor, f"monitoring-{word}", f"monitoring switched {word}", clock)
            audit(s, actor, "deployment.monitoring", "deployment", dep.id, {"on": on}, clock=clock)
        return dep


async def retire_deployment(
    db: Database, actor: Actor, ref: str | int, clock: Clock, *, reason: str = ""
) -> Deployment:
    """Retire a deployment (the server is gone): no monitoring, no installs; the history stays.

    Raises:
        NotFoundError: No such deployment.
        InvalidTransitionError: Already retired.
    """
    async with db.transaction() as s:
        dep = await find_deployment(s, ref)
        move(
            s,
            dep,
            actor,
            DeploymentStatus.RETIRED,
            "retired: the server is gone" + (f" ({reason})" if reason else ""),
            clock,
            {"reason": reason} if reason else None,
        )
        dep.monitoring = False
        return dep
