"""Certificate definitions: create, find, list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateDefinition
from certmgr.controller.db.queries._like import LIKE_ESCAPE, numbered_copies
from certmgr.controller.db.queries.definitions import definition_by_ref
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import IssuerKind
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import ConflictError, ValidationError, raise_collected
from certmgr.shared.pki import KeyType
from certmgr.shared.pki.names import parse_san, parse_sans, san_text


@dataclass(frozen=True)
class DefinitionSpec:
    """What the user asks for when making a definition."""

    name: str
    common_name: str
    sans: tuple[str, ...] = ()
    key_type: str = KeyType.EC_P256.value
    issuer_kind: str = IssuerKind.PRIVATE_CA.value
    organization: str = ""
    organizational_unit: str = ""
    locality: str = ""
    state: str = ""
    country: str = ""
    requestor: str = ""
    notes: str = ""
    acme_account_id: int | None = None
    requirements: dict[str, Any] = field(default_factory=dict)
    renewal_policy: dict[str, Any] = field(default_factory=dict)
    product_id: str | None = None
    vendor_account_id: int | None = None


def normalized_sans(common_name: str, sans: tuple[str, ...] | list[str]) -> list[str]:
    """SANs as stored: parsed, de-duplicated, with the CN first when it is a name or address.

    Raises:
        ValidationError: A SAN is malformed.
    """
    names = [san_text(g) for g in parse_sans(list(sans))]
    cn = common_name.strip()
    if cn:
        try:
            cn_name = san_text(parse_san(cn, field="common_name"))
        except ValidationError:
            cn_name = ""
        if cn_name and cn_name not in names:
            names.insert(0, cn_name)
    return names


def validate_spec(spec: DefinitionSpec) -> DefinitionSpec:
    """Check a spec field by field.

    Raises:
        ValidationError: The one wrong field.
        FieldsError: Several wrong fields, each named (a form shows them all at once).
    """
    errors: list[ValidationError] = []
    name = spec.name.strip()
    if not name:
        errors.append(ValidationError("name is required", field="name"))
    elif len(name) > 200 or any(ord(c) < 32 for c in name):
        errors.append(ValidationError("name must be 1-200 printable characters", field="name"))
    cn = spec.common_name.strip()
    if len(cn) > 64:
        errors.append(
            ValidationError(
                "common name is longer than 64 characters (RFC 5280 upper bound)",
                field="common_name",
            )
        )
    elif cn and not spec.sans:
        # without SANs the common name is the certificate's only name: it must be one
        try:
            parse_san(cn, field="common_name")
        except ValidationError:
            errors.append(
                ValidationError(
                    f"{cn!r} is not a host name or IP address (for example www.example.com)",
                    field="common_name",
                )
            )
    if not cn and not spec.sans:
        errors.append(
            ValidationError("give a common name or at least one SAN", field="common_name")
        )
    try:
        KeyType.parse(spec.key_type)
    except ValidationError as err:
        errors.append(err)
    try:
        IssuerKind(spec.issuer_kind)
    except ValueError:
        allowed = ", ".join(k.value for k in IssuerKind)
        errors.append(ValidationError(f"issuer must be one of {allowed}", field="issuer_kind"))
    if spec.country and (len(spec.country) != 2 or not spec.country.isalpha()):
        errors.append(ValidationError("country must be a two-letter code", field="country"))
    sans: list[str] = []
    try:
        sans = normalized_sans(cn, spec.sans)
    except ValidationError as err:
        errors.append(err)
    else:
        if not sans and not any(e.field == "common_name" for e in errors):
            errors.append(
                ValidationError(
                    "the certificate needs at least one DNS name or IP address", field="san"
                )
            )
    raise_collected(errors)
    return DefinitionSpec(
        **{
            **spec.__dict__,
            "name": name,
            "common_name": cn,
            "sans": tuple(sans),
            "country": spec.country.upper(),
        }
    )


async def create_definition(
    db: Database, actor: Actor, spec: DefinitionSpec, *, clock: Clock | None = None
) -> CertificateDefinition:
    """Validate and save a new definition.

    Raises:
        ValidationError: A field is wrong.
        ConflictError: The name is taken.
    """
    spec = validate_spec(spec)
    now = (clock or SystemClock()).now()
    async with db.transaction() as s:
        return await add_definition(s, actor, spec, now=now)


async def add_definition(
    s: AsyncSession,
    actor: Actor,
    spec: DefinitionSpec,
    *,
    now: dt.datetime,
    audit_detail: dict[str, Any] | None = None,
) -> CertificateDefinition:
    """Add a validated definition inside the caller's transaction.

    Raises:
        ConflictError: The name is taken.
    """
    taken = (
        await s.execute(
            select(CertificateDefinition.id).where(CertificateDefinition.name == spec.name)
        )
    ).first()
    if taken:
        raise ConflictError(f"a definition named {spec.name!r} already exists")
    row = CertificateDefinition(
        name=spec.name,
        common_name=spec.common_name,
        organization=spec.organization,
        organizational_unit=spec.organizational_unit,
        locality=spec.locality,
        state=spec.state,
        country=spec.country,
        sans=list(spec.sans),
        key_type=spec.key_type,
        issuer_kind=spec.issuer_kind,
        requirements=dict(spec.requirements),
        acme_account_id=spec.acme_account_id,
        requestor=spec.requestor,
        renewal_policy=dict(spec.renewal_policy),
        product_id=spec.product_id,
        vendor_account_id=spec.vendor_account_id,
        notes=spec.notes,
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    await s.flush()
    audit(
        s,
        actor,
        "definition.create",
        "definition",
        row.id,
        {"name": row.name, **(audit_detail or {})},
    )
    return row


async def find_definition(s: AsyncSession, ref: str | int) -> CertificateDefinition:
    """A definition by id or exact name, inside the caller's transaction.

    Raises:
        NotFoundError: No such definition.
    """
    return await definition_by_ref(s, ref)


async def load_definition(db: Database, ref: str | int) -> CertificateDefinition:
    """A definition by id or exact name.

    Raises:
        NotFoundError: No such definition.
    """
    async with db.reader() as s:
        return await definition_by_ref(s, ref)


async def unique_name(s: AsyncSession, base: str) -> str:
    """``base``, or ``base (2)``, ``base (3)`` ... whichever is free."""
    base = base[:190] or "certificate"
    rows = await s.execute(
        select(CertificateDefinition.name).where(
            (CertificateDefinition.name == base)
            | CertificateDefinition.name.like(numbered_copies(base), escape=LIKE_ESCAPE)
        )
    )
    taken = set(rows.scalars().all())
    if base not in taken:
        return base
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"
