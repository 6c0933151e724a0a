"""Bulk operations: clone a set of definitions (e.g. a test system), re-point a set to another issuer and renew."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateDefinition, CertificateRequest
from certmgr.controller.db.queries._like import LIKE_ESCAPE
from certmgr.controller.db.queries._like import prefix as like_prefix
from certmgr.controller.db.queries.requests import open_request_of
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import IssuerKind
from certmgr.controller.services.acquisition.definitions import (
    DefinitionSpec,
    add_definition,
    find_definition,
    validate_spec,
)
from certmgr.controller.services.acquisition.issuing import acquire
from certmgr.controller.services.acquisition.requests import (
    IssuerEnv,
    start_request,
)
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import CertmgrError, ValidationError

MAX_BULK = 5000


def _rewrite(name: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        if name == old or name.endswith("." + old):
            return name[: len(name) - len(old)] + new
    return name


async def clone_definitions(
    db: Database,
    actor: Actor,
    refs: list[str | int],
    clock: Clock,
    *,
    name_suffix: str,
    domain_map: list[tuple[str, str]] | None = None,
    issuer_kind: str | None = None,
) -> list[CertificateDefinition]:
    """Copies of definitions (names get ``name_suffix``; names under ``old`` domains move to ``new``), all or none.

    Raises:
        ValidationError: Empty suffix, too many, or a bad resulting name.
        ConflictError: A resulting name exists.
    """
    if not name_suffix.strip():
        raise ValidationError("a name suffix is required (e.g. ' (test)')", field="suffix")
    if not refs or len(refs) > MAX_BULK:
        raise ValidationError(f"choose 1 to {MAX_BULK} definitions", field="definitions")
    pairs = domain_map or []
    out: list[CertificateDefinition] = []
    now = clock.now()
    async with db.transaction() as s:
        for ref in refs:
            d = await find_definition(s, ref)
            spec = validate_spec(
                DefinitionSpec(
                    name=f"{d.name}{name_suffix}"[:200],
                    common_name=_rewrite(d.common_name, pairs),
                    sans=tuple(_rewrite(n, pairs) for n in d.sans),
                    key_type=d.key_type,
                    issuer_kind=issuer_kind or d.issuer_kind,
                    organization=d.organization,
                    organizational_unit=d.organizational_unit,
                    locality=d.locality,
                    state=d.state,
                    country=d.country,
                    requestor=d.requestor,
                    notes=f"Cloned from {d.name}",
                    acme_account_id=d.acme_account_id,
                    requirements=dict(d.requirements),
                    renewal_policy=dict(d.renewal_policy),
                    product_id=d.product_id,
                    vendor_account_id=d.vendor_account_id,
                )
            )
            out.append(
                await add_definition(s, actor, spec, now=now, audit_detail={"cloned_from": d.id})
            )
    return out


@dataclass(frozen=True)
class IssuerChange:
    """What to change on every definition of a set."""

    issuer_kind: str
    product_id: str | None = None
    vendor_account_id: int | None = None
    acme_account_id: int | None = None


@dataclass(frozen=True)
class BulkResult:
    """Per definition: the request started (if any) and its state, or the error."""

    definition_id: int
    request_id: int | None
    status: str
    error: str = ""


async def change_issuer(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    refs: list[str | int],
    change: IssuerChange,
    clock: Clock,
    *,
    renew: bool,
    env: IssuerEnv | None = None,
) -> list[BulkResult]:
    """Re-point definitions to another issuer (one transaction), then optionally start renewals for each.

    Renewals run one by one; one failing does not stop the others (each outcome is reported).

    Raises:
        ValidationError: Unknown issuer, missing ACME account, or too many definitions.
    """
    try:
        IssuerKind(change.issuer_kind)
    except ValueError:
        raise ValidationError("issuer must be private-ca, acme or vendor", field="issuer") from None
    if change.issuer_kind == "acme" and change.acme_account_id is None:
        raise ValidationError("moving to ACME needs an ACME account", field="acme_account")
    if not refs or len(refs) > MAX_BULK:
        raise ValidationError(f"choose 1 to {MAX_BULK} definitions", field="definitions")
    ids: list[int] = []
    async with db.transaction() as s:
        for ref in refs:
            d = await find_definition(s, ref)
            old = d.issuer_kind
            d.issuer_kind = change.issuer_kind
            d.product_id = change.product_id
            d.vendor_account_id = change.vendor_account_id
            d.acme_account_id = (
                change.acme_account_id if change.issuer_kind == "acme" else d.acme_account_id
            )
            d.updated_at = clock.now()
            audit(
                s,
                actor,
                "definition.change-issuer",
                "definition",
                d.id,
                {"from": old, "to": change.issuer_kind, "product": change.product_id},
                clock=clock,
            )
            ids.append(d.id)
    results: list[BulkResult] = []
    for def_id in ids:
        if not renew:
            results.append(BulkResult(def_id, None, "changed"))
            continue
        try:
            results.append(await renew_one(db, vault, actor, def_id, clock, env))
        except CertmgrError as err:
            results.append(BulkResult(def_id, None, "failed", str(err)))
    return results


async def renew_one(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    def_id: int,
    clock: Clock,
    env: IssuerEnv | None,
) -> BulkResult:
    """Renew one definition: its open request, or a new one; private-CA and ACME ones are acquired.

    Raises:
        CertmgrError: The request could not be started (archived, no such definition, ...).
    """
    async with db.reader() as s:
        existing: CertificateRequest | None = await open_request_of(s, def_id)
    req = existing or await start_request(db, vault, actor, def_id, clock)
    if req.issuer_kind in ("private-ca", "acme") and env is not None:
        req = await acquire(db, vault, actor, req.id, clock, env)
    return BulkResult(def_id, req.id, req.status, req.last_error)


async def definitions_by_name_prefix(db: Database, prefix: str) -> list[int]:
    """Ids of definitions whose name starts with ``prefix`` (a convenient way to pick a set)."""
    like = like_prefix(prefix)
    async with db.reader() as s:
        return list(
            (
                await s.execute(
                    select(CertificateDefinition.id)
                    .where(CertificateDefinition.name.like(like, escape=LIKE_ESCAPE))
                    .order_by(CertificateDefinition.id)
                )
            )
            .scalars()
            .all()
        )
