"""Closing a deployment: confirmed after a passing check, completed unchecked, manually checked, installed."""

from __future__ import annotations

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Deployment
from certmgr.controller.db.queries.deployments import check_by_id
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.deployment.deployments import deployment_with_definition, move
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, ValidationError


async def close(
    db: Database, actor: Actor, dep_ref: str | int, how: str, clock: Clock, *, note: str = ""
) -> Deployment:
    """Finish a deployment: ``done`` (needs a passing check of the current certificate), ``unchecked`` or ``manual``.

    Raises:
        ValidationError: Unknown way of closing.
        ConflictError: ``done`` without a passing check.
        InvalidTransitionError: Not allowed from the current state.
    """
    async with db.transaction() as s:
        dep, d = await deployment_with_definition(s, dep_ref)
        if how == "done":
            last = await check_by_id(s, dep.last_check_id)
            if (
                last is None
                or not last.ok
                or (d.current_certificate_id and not last.matches_current)
            ):
                raise ConflictError(
                    "the last check did not pass: check again, or choose 'continue without checking' or 'manually checked'"
                )
            move(
                s,
                dep,
                actor,
                DeploymentStatus.CONFIRMED,
                "confirmed after a passing check",
                clock,
                {"check": last.id},
            )
            # the check saw the current certificate served: that is what the deployment carries
            dep.certificate_id = d.current_certificate_id or dep.certificate_id
        elif how == "unchecked":
            move(
                s,
                dep,
                actor,
                DeploymentStatus.COMPLETED_UNCHECKED,
                "completed without checking" + (f": {note}" if note else ""),
                clock,
            )
        elif how == "manual":
            move(
                s,
                dep,
                actor,
                DeploymentStatus.MANUALLY_CONFIRMED,
                "manually checked" + (f": {note}" if note else ""),
                clock,
            )
        elif how == "installed":
            move(
                s,
                dep,
                actor,
                DeploymentStatus.INSTALLED,
                "reported installed" + (f": {note}" if note else ""),
                clock,
            )
        else:
            raise ValidationError("choose done, unchecked, manual or installed", field="how")
        if how in ("unchecked", "manual") and dep.certificate_id is None:
            # nothing was sent (monitoring only): the person closing it says the current one is there
            dep.certificate_id = d.current_certificate_id
        return dep
