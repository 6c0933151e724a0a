"""Changing a definition after creation: edit, archive (retire), restore, delete."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateDefinition
from certmgr.controller.db.queries.definitions import (
    definition_by_name,
    definition_by_ref,
    deployments_of,
    references_to_definition,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import VALIDATION_LEVELS
from certmgr.controller.services.acquisition.catalogue import find_product
from certmgr.controller.services.acquisition.definitions import DefinitionSpec, validate_spec
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, NotFoundError, ValidationError


@dataclass(frozen=True)
class DefinitionChanges:
    """What to change; ``None`` leaves a field as it is, ``""`` clears an optional text."""

    name: str | None = None
    common_name: str | None = None
    sans: tuple[str, ...] | None = None
    key_type: str | None = None
    issuer_kind: str | None = None
    organization: str | None = None
    organizational_unit: str | None = None
    locality: str | None = None
    state: str | None = None
    country: str | None = None
    requestor: str | None = None
    notes: str | None = None
    acme_account_id: int | None = None
    vendor_account_id: int | None = None
    validation: str | None = None
    """DV, OV or EV; ``""`` removes the requirement."""
    vendor: str | None = None
    """Preferred vendor; ``""`` removes it."""
    product_id: str | None = None
    """A catalogue product id; ``""`` removes it."""
    renew_days_before: int | None = None
    """Renew this many days before expiry; 0 goes back to the default (a third of the lifetime)."""
    monitoring: bool | None = None
    """Switch monitoring of every deployment of the definition on or off."""

    def given(self) -> dict[str, Any]:
        """The fields that were given."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


_SPEC_FIELDS = (
    "name",
    "common_name",
    "sans",
    "key_type",
    "issuer_kind",
    "organization",
    "organizational_unit",
    "locality",
    "state",
    "country",
    "requestor",
    "notes",
    "acme_account_id",
    "vendor_account_id",
)


def _spec_of(d: CertificateDefinition) -> DefinitionSpec:
    return DefinitionSpec(
        name=d.name,
        common_name=d.common_name,
        sans=tuple(d.sans),
        key_type=d.key_type,
        issuer_kind=d.issuer_kind,
        organization=d.organization,
        organizational_unit=d.organizational_unit,
        locality=d.locality,
        state=d.state,
        country=d.country,
        requestor=d.requestor,
        notes=d.notes,
        acme_account_id=d.acme_account_id,
        requirements=dict(d.requirements or {}),
        renewal_policy=dict(d.renewal_policy or {}),
        product_id=d.product_id,
        vendor_account_id=d.vendor_account_id,
    )


def _requirements(old: dict[str, Any], ch: DefinitionChanges) -> dict[str, Any]:
    req = dict(old)
    if ch.validation is not None:
        level = ch.validation.strip().upper()
        if level and level not in VALIDATION_LEVELS:
            raise ValidationError(
                f"validation must be one of {', '.join(VALIDATION_LEVELS)}", field="validation"
            )
        if level:
            req["validation"] = level
        else:
            req.pop("validation", None)
    if ch.vendor is not None:
        vendor = ch.vendor.strip()
        if len(vendor) > 100:
            raise ValidationError("vendor is longer than 100 characters", field="vendor")
        if vendor:
            req["vendor"] = vendor
        else:
            req.pop("vendor", None)
    return req


def _renewal(old: dict[str, Any], days: int | None) -> dict[str, Any]:
    policy = dict(old)
    if days is None:
        return policy
    if days < 0 or days > 3650:
        raise ValidationError(
            "renew days before expiry must be between 0 and 3650", field="renew_days_before"
        )
    if days:
        policy["days_before"] = days
    else:
        policy.pop("days_before", None)
    return policy


def _product(old: str | None, given: str | None) -> str | None:
    if given is None:
        return old
    if not given.strip():
        return None
    try:
        return find_product(given.strip()).id
    except NotFoundError as err:
        raise ValidationError(str(err), field="product") from None


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


async def edit_definition(
    db: Database, actor: Actor, ref: str | int, changes: DefinitionChanges, clock: Clock
) -> CertificateDefinition:
    """Change a definition's names, subject, requirements, key type, renewal policy, issuer or monitoring.

    The change applies to the next request; certificates already issued stay as they are.
    Every changed field goes into the audit event (old and new value).

    Raises:
        NotFoundError: No such definition.
        ValidationError: A field is wrong (named).
        ConflictError: The new name is taken.
    """
    given = changes.given()
    if not given:
        raise ValidationError("nothing to change: give at least one field", field="changes")
    async with db.transaction() as s:
        d = await definition_by_ref(s, ref)
        old = _spec_of(d)
        spec = replace(
            old,
            **{k: v for k, v in given.items() if k in _SPEC_FIELDS},
            requirements=_requirements(old.requirements, changes),
            renewal_policy=_renewal(old.renewal_policy, changes.renew_days_before),
            product_id=_product(old.product_id, changes.product_id),
        )
        spec = validate_spec(spec)
        if spec.name != d.name and await definition_by_name(s, spec.name) is not None:
            raise ConflictError(f"a definition named {spec.name!r} already exists")
        diff: dict[str, Any] = {}
        for key in (*_SPEC_FIELDS, "requirements", "renewal_policy", "product_id"):
            before, after = _plain(getattr(old, key)), _plain(getattr(spec, key))
            if before != after:
                diff[key] = {"from": before, "to": after}
                setattr(d, key, after)
        if changes.monitoring is not None:
            switched = []
            for x in await deployments_of(s, d.id):
                if x.monitoring != changes.monitoring and not _retired(x.status):
                    x.monitoring = changes.monitoring
                    x.updated_at = clock.now()
                    switched.append(x.id)
            if switched:
                diff["monitoring"] = {"to": changes.monitoring, "deployments": switched}
        if diff:
            d.updated_at = clock.now()
            audit(s, actor, "definition.edit", "definition", d.id, diff, clock=clock)
        return d


def _retired(status: str) -> bool:
    return status == "retired"


async def archive_definition(
    db: Database, actor: Actor, ref: str | int, clock: Clock, *, reason: str = ""
) -> CertificateDefinition:
    """Retire a definition: no renewals, no monitoring, off the daily lists; its history stays.

    Raises:
        NotFoundError: No such definition.
        ConflictError: Already archived.
    """
    async with db.transaction() as s:
        d = await definition_by_ref(s, ref)
        if d.archived:
            raise ConflictError(f"definition {d.name!r} is already archived")
        d.archived = True
        d.held_certificate_id = None
        d.switch_at = None
        d.updated_at = clock.now()
        audit(
            s,
            actor,
            "definition.archive",
            "definition",
            d.id,
            {"name": d.name, **({"reason": reason} if reason else {})},
            clock=clock,
        )
        return d


async def restore_definition(
    db: Database, actor: Actor, ref: str | int, clock: Clock
) -> CertificateDefinition:
    """Bring an archived definition back (renewals and monitoring resume).

    Raises:
        NotFoundError: No such definition.
        ConflictError: It is not archived.
    """
    async with db.transaction() as s:
        d = await definition_by_ref(s, ref)
        if not d.archived:
            raise ConflictError(f"definition {d.name!r} is not archived")
        d.archived = False
        d.updated_at = clock.now()
        audit(s, actor, "definition.restore", "definition", d.id, {"name": d.name}, clock=clock)
        return d


async def delete_definition(db: Database, actor: Actor, ref: str | int, clock: Clock) -> str:
    """Delete a definition nothing refers to; returns its name.

    Raises:
        NotFoundError: No such definition.
        ConflictError: Certificates, requests, deployments or documents refer to it (named, with
            counts); archive it instead.
    """
    async with db.transaction() as s:
        d = await definition_by_ref(s, ref)
        refs = await references_to_definition(s, d.id)
        if refs:
            what = ", ".join(f"{n} {label}" for label, n in refs.items())
            raise ConflictError(
                f"definition {d.name!r} cannot be deleted: {what} refer to it; "
                "archive it instead (certmgr definition archive)"
            )
        name, def_id = d.name, d.id
        await s.delete(d)
        audit(s, actor, "definition.delete", "definition", def_id, {"name": name}, clock=clock)
        return name
