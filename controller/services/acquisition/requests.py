"""Certificate requests (the acquisition process): key and CSR, ordering, receiving, switching the current certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    PrivateKeyRecord,
    RequestEvent,
)
from certmgr.controller.db.queries.requests import open_request_of, request_by_ref
from certmgr.controller.db.queries.vendor_accounts import vendor_account_by_ref
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.state_labels import state_label
from certmgr.controller.domain.states import (
    RequestStatus,
    check_request_transition,
)
from certmgr.controller.domain.values import KeyOrigin
from certmgr.controller.services._history import History
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import (
    key_row,
    unseal_key,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
)
from certmgr.shared.pki import (
    KeyType,
    build_csr,
    csr_pem,
    describe_key,
    generate_private_key,
)

REQUEST_HISTORY: History[RequestStatus] = History(
    "request", RequestEvent, "request_id", check_request_transition
)
add_event = REQUEST_HISTORY.add_event
"""Append to a request's history."""
move = REQUEST_HISTORY.move
"""Change a request's state (checked), with history and audit."""


find_request = request_by_ref
"""A request by id (raises NotFoundError)."""


def _csr_for(d: CertificateDefinition, key: Any) -> x509.CertificateSigningRequest:
    return build_csr(
        key,
        d.common_name or None,
        list(d.sans),
        organization=d.organization,
        organizational_unit=d.organizational_unit,
        locality=d.locality,
        state=d.state,
        country=d.country,
    )


async def start_request(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    definition_ref: str | int,
    clock: Clock,
    *,
    reuse_key_id: int | None = None,
    key_on_agent: bool = False,
) -> CertificateRequest:
    """Open a new or renewal request and make its key and CSR (status ``key-and-csr``).

    With ``key_on_agent`` the request waits in ``draft`` until the agent uploads its CSR.

    Raises:
        NotFoundError: No such definition or key.
        ConflictError: The definition already has an open request.
    """
    async with db.reader() as s:
        d = await find_definition(s, definition_ref)
        if d.archived:
            raise ConflictError(
                f"definition {d.name!r} is archived; restore it before requesting a certificate"
            )
        existing = await open_request_of(s, d.id)
        if existing is not None:
            raise ConflictError(
                f"definition {d.name!r} already has open request #{existing.id} ({state_label('request', existing.status)}); finish or cancel it first"
            )
        reuse = await s.get(PrivateKeyRecord, reuse_key_id) if reuse_key_id is not None else None
        if reuse_key_id is not None and reuse is None:
            raise NotFoundError(f"no private key {reuse_key_id}")
    key = None
    if reuse is not None:
        key = unseal_key(reuse, vault)
    elif not key_on_agent:
        key = await asyncio.to_thread(generate_private_key, KeyType.parse(d.key_type))
    # the CSR is signed with the key: off the loop, before the transaction
    csr = await asyncio.to_thread(_csr_for, d, key) if key is not None else None
    now = clock.now()
    async with db.transaction() as s:
        d = await find_definition(s, d.id)
        req = await _new_request(s, actor, d, key_on_agent, clock)
        if key is not None and csr is not None:
            if reuse is not None:
                req.private_key_id = reuse.id
                note = f"reusing private key #{reuse.id}"
            else:
                krow = key_row(key, vault, origin=KeyOrigin.GENERATED, now=now)
                s.add(krow)
                await s.flush()
                req.private_key_id = krow.id
                note = f"generated {describe_key(key).label} key #{krow.id}"
            req.csr_pem = csr_pem(csr)
            move(s, req, actor, RequestStatus.KEY_AND_CSR, note + " and CSR", clock)
        else:
            add_event(
                s,
                req,
                actor,
                "waiting-for-agent",
                "the agent generates the key and sends the CSR",
                clock,
            )
    return req


async def _new_request(
    s: AsyncSession, actor: Actor, d: CertificateDefinition, key_on_agent: bool, clock: Clock
) -> CertificateRequest:
    """A new draft request for ``d``, with its first event and audit entries."""
    now = clock.now()
    req = CertificateRequest(
        definition_id=d.id,
        kind="renewal" if d.current_certificate_id else "new",
        status=RequestStatus.DRAFT.value,
        issuer_kind=d.issuer_kind,
        product_id=d.product_id,
        vendor_account_id=d.vendor_account_id,
        acme_account_id=d.acme_account_id,
        replaces_certificate_id=d.current_certificate_id,
        key_on_agent=key_on_agent,
        extra={},
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    s.add(req)
    await s.flush()
    add_event(s, req, actor, "created", f"{req.kind} request for {d.name} ({d.issuer_kind})", clock)
    on_request: dict[str, object] = {"definition": d.name, "kind": req.kind}
    audit(s, actor, "request.create", "request", req.id, on_request, clock=clock)
    on_definition: dict[str, object] = {"request": req.id, "kind": req.kind}
    audit(s, actor, "request.create", "definition", d.id, on_definition, clock=clock)
    return req


@dataclass(frozen=True)
class IssuerEnv:
    """What acquisition needs from the process: where the CA writes, how ACME answers challenges."""

    ca_dir: Any
    crl_url: str
    http01_solver: Any = None
    acme_timeout: float = 120.0
    acme_connections: Any = None  # AcmeConnections kept open for a run of many orders


async def record_order(
    db: Database,
    actor: Actor,
    request_id: int,
    clock: Clock,
    *,
    order_number: str,
    order_date: dt.datetime | None = None,
    tracking_notes: str = "",
    product_id: str | None = None,
    vendor_account_id: int | None = None,
) -> CertificateRequest:
    """Note a manual vendor order (order number, date, tracking) and move to ``ordered``.

    Raises:
        InvalidTransitionError: Not in ``key-and-csr``.
        ValidationError: Empty order number.
    """
    if not order_number.strip() or len(order_number) > 200:
        raise ValidationError(
            "the order number is required (up to 200 characters)", field="order_number"
        )
    async with db.transaction() as s:
        req = await find_request(s, request_id)
        req.order_number = order_number.strip()
        req.order_date = order_date or clock.now()
        req.tracking_notes = tracking_notes[:10000]
        if product_id is not None:
            req.product_id = product_id
        if vendor_account_id is not None:
            req.vendor_account_id = (await vendor_account_by_ref(s, vendor_account_id)).id
        move(
            s,
            req,
            actor,
            RequestStatus.ORDERED,
            f"ordered: {req.order_number}"
            + (f" (product {req.product_id})" if req.product_id else ""),
            clock,
        )
    return req


async def switch_current(
    s: AsyncSession, actor: Actor, d: CertificateDefinition, row: Certificate, clock: Clock
) -> None:
    """Make ``row`` the definition's current certificate (the old one stays in history); deployments then need it."""
    old = d.current_certificate_id
    d.current_certificate_id = row.id
    d.updated_at = clock.now()
    audit(
        s,
        actor,
        "definition.switch-current",
        "definition",
        d.id,
        {"from": old, "to": row.id, "sha256": row.sha256},
        clock=clock,
    )


async def cancel_request(
    db: Database, actor: Actor, request_id: int, clock: Clock, *, reason: str = ""
) -> CertificateRequest:
    """Cancel an open request.

    Raises:
        InvalidTransitionError: Already finished.
    """
    async with db.transaction() as s:
        req = await find_request(s, request_id)
        move(
            s,
            req,
            actor,
            RequestStatus.CANCELLED,
            "cancelled" + (f": {reason}" if reason else ""),
            clock,
        )
    return req


async def request_history(db: Database, request_id: int) -> list[RequestEvent]:
    """A request's events, oldest first."""
    async with db.reader() as s:
        return list(
            (
                await s.execute(
                    select(RequestEvent)
                    .where(RequestEvent.request_id == request_id)
                    .order_by(RequestEvent.id)
                )
            )
            .scalars()
            .all()
        )
