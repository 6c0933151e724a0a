"""Certificate requests (the acquisition process): key and CSR, ordering, receiving, switching the current certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    PrivateKeyRecord,
    RequestEvent,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.renewal import retry_delay
from certmgr.controller.domain.states import (
    ONGOING_REQUEST,
    RequestStatus,
    check_request_transition,
)
from certmgr.controller.domain.values import CertificateSource, KeyOrigin
from certmgr.controller.services._events import CERTIFICATE_SWITCHED, CertificateSwitched
from certmgr.controller.services._history import History
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import (
    certificate_row,
    key_row,
    known_ca_certificates,
    set_chain,
    unseal_key,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    CertmgrError,
    ConflictError,
    InputError,
    KeyMismatchError,
    NotFoundError,
    PermissionDeniedError,
    UpstreamError,
    ValidationError,
)
from certmgr.shared.pki import (
    KeyType,
    build_chain,
    build_csr,
    csr_pem,
    describe_key,
    generate_private_key,
    key_matches_certificate,
    load,
    load_csr,
    sha256_fingerprint,
)
from certmgr.shared.pki.names import san_text

REQUEST_HISTORY: History[RequestStatus] = History(
    "request", RequestEvent, "request_id", check_request_transition
)
add_event = REQUEST_HISTORY.add_event
"""Append to a request's history."""
move = REQUEST_HISTORY.move
"""Change a request's state (checked), with history and audit."""


async def find_request(s: AsyncSession, ref: str | int) -> CertificateRequest:
    """A request by id.

    Raises:
        NotFoundError: No such request.
    """
    try:
        rid = int(ref)
    except (TypeError, ValueError):
        raise NotFoundError(f"no request {ref!r}") from None
    row = await s.get(CertificateRequest, rid)
    if row is None:
        raise NotFoundError(f"no request {ref!r}")
    return row


async def open_request_of(s: AsyncSession, definition_id: int) -> CertificateRequest | None:
    """The definition's ongoing request, if any."""
    return (
        await s.execute(
            select(CertificateRequest)
            .where(
                CertificateRequest.definition_id == definition_id,
                CertificateRequest.status.in_([x.value for x in ONGOING_REQUEST]),
            )
            .order_by(CertificateRequest.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


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
        existing = await open_request_of(s, d.id)
        if existing is not None:
            raise ConflictError(
                f"definition {d.name!r} already has open request #{existing.id} ({existing.status}); finish or cancel it first"
            )
        reuse = await s.get(PrivateKeyRecord, reuse_key_id) if reuse_key_id is not None else None
        if reuse_key_id is not None and reuse is None:
            raise NotFoundError(f"no private key {reuse_key_id}")
    key = None
    if reuse is not None:
        key = unseal_key(reuse, vault)
    elif not key_on_agent:
        key = await asyncio.to_thread(generate_private_key, KeyType.parse(d.key_type))
    now = clock.now()
    async with db.transaction() as s:
        d = await find_definition(s, d.id)
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
        add_event(
            s, req, actor, "created", f"{req.kind} request for {d.name} ({d.issuer_kind})", clock
        )
        audit(
            s,
            actor,
            "request.create",
            "request",
            req.id,
            {"definition": d.name, "kind": req.kind},
            clock=clock,
        )
        audit(
            s,
            actor,
            "request.create",
            "definition",
            d.id,
            {"request": req.id, "kind": req.kind},
            clock=clock,
        )
        if key is not None:
            if reuse is not None:
                req.private_key_id = reuse.id
                note = f"reusing private key #{reuse.id}"
            else:
                krow = key_row(key, vault, origin=KeyOrigin.GENERATED, now=now)
                s.add(krow)
                await s.flush()
                req.private_key_id = krow.id
                note = f"generated {describe_key(key).label} key #{krow.id}"
            req.csr_pem = csr_pem(_csr_for(d, key))
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


async def attach_agent_csr(
    db: Database,
    agent_id: int,
    actor: Actor,
    request_id: int,
    csr_data: bytes,
    clock: Clock,
    *,
    public_key_sha256: str | None = None,
) -> CertificateRequest:
    """Take the CSR an agent made (the key stays on the agent; only its public half is recorded).

    Accepted only for a request marked key-on-agent, only from the agent that holds the open
    key job for it, and only once: the job is closed in the same transaction as the CSR is
    attached, so of two uploads racing for it one wins. Refusals are audited.

    Args:
        db: The database.
        agent_id: The authenticated agent that sent the CSR.
        actor: Who the change is recorded as (the agent).
        request_id: The request the agent names.
        csr_data: The CSR (PEM or DER).
        clock: Time source.
        public_key_sha256: The public-key SHA-256 the agent announced with it, checked when given.

    Raises:
        PermissionDeniedError: The request takes no key made on an agent, or this agent holds no
            open key job for it (another agent's request, or its CSR already arrived).
        InputError: The CSR is unreadable, does not carry the definition's names, or is not for
            the announced public key.
        NotFoundError: No such request.
        InvalidTransitionError: The request is not waiting for a CSR.
    """
    from certmgr.controller.db.models import AgentWork

    csr = load_csr(csr_data, name="agent CSR")
    info = describe_key(csr.public_key())  # type: ignore[arg-type]
    if public_key_sha256 and public_key_sha256 != info.public_sha256:
        raise ValidationError(
            "the CSR is not for the public key sent with it", field="public_key_sha256"
        )
    refusal = ""
    async with db.transaction() as s:
        req = await find_request(s, request_id)
        work_id = (
            await s.execute(
                select(AgentWork.id)
                .where(
                    AgentWork.kind == "keygen",
                    AgentWork.request_id == req.id,
                    AgentWork.agent_id == agent_id,
                    AgentWork.state.in_(("queued", "delivered")),
                )
                .order_by(AgentWork.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if not req.key_on_agent:
            refusal = "the request takes no key made on an agent"
        elif work_id is None:
            refusal = "this agent holds no open key request for it"
        else:
            claimed = await s.execute(
                update(AgentWork)
                .where(AgentWork.id == work_id, AgentWork.state.in_(("queued", "delivered")))
                .values(state="done", done_at=clock.now())
                .execution_options(synchronize_session=False)
            )
            if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
                refusal = "this agent holds no open key request for it"
        if not refusal:
            d = await find_definition(s, req.definition_id)
            _check_csr_names(csr, d)
            krow = (
                await s.execute(
                    select(PrivateKeyRecord).where(
                        PrivateKeyRecord.public_sha256 == info.public_sha256
                    )
                )
            ).scalar_one_or_none()
            if krow is None:
                krow = PrivateKeyRecord(
                    algorithm=info.algorithm,
                    size=info.size,
                    key_type=d.key_type,
                    public_sha256=info.public_sha256,
                    origin=KeyOrigin.GENERATED_ON_AGENT,
                    sealed_pkcs8=None,
                    created_at=clock.now(),
                )
                s.add(krow)
                await s.flush()
            req.private_key_id = krow.id
            req.csr_pem = csr.public_bytes(Encoding.PEM).decode()
            move(
                s,
                req,
                actor,
                RequestStatus.KEY_AND_CSR,
                f"CSR received from the agent (key #{krow.id} stays on the server)",
                clock,
                {"agent": agent_id},
            )
            return req
    # recorded in its own transaction (the one above rolled back): who tried, for what
    async with db.transaction() as s:
        audit(
            s,
            actor,
            "agent.csr-refused",
            "request",
            request_id,
            {"agent": agent_id, "reason": refusal},
            clock=clock,
        )
    raise PermissionDeniedError(f"request {request_id}: {refusal}", actor=actor.name)


def _check_csr_names(csr: x509.CertificateSigningRequest, d: CertificateDefinition) -> None:
    try:
        names = {
            san_text(g)
            for g in csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        }
    except x509.ExtensionNotFound:
        names = set()
    if set(d.sans) - names:
        raise InputError(f"the CSR lacks the names {', '.join(sorted(set(d.sans) - names))}")


@dataclass(frozen=True)
class IssuerEnv:
    """What acquisition needs from the process: where the CA writes, how ACME answers challenges."""

    ca_dir: Any
    crl_url: str
    http01_solver: Any = None
    acme_timeout: float = 120.0


async def acquire(
    db: Database, vault: MasterKey, actor: Actor, request_id: int, clock: Clock, env: IssuerEnv
) -> CertificateRequest:
    """Get the certificate from the definition's issuer when it can be automatic (private CA, ACME).

    Failures never touch the current certificate: they are recorded in the request's history
    with the CA's own message, and a retry is scheduled with backoff.

    Raises:
        ConflictError: The request is not ready (no CSR) or its issuer is manual (vendor).
    """
    async with db.reader() as s:
        req = await find_request(s, request_id)
        d = await find_definition(s, req.definition_id)
    if req.status not in (RequestStatus.KEY_AND_CSR.value, RequestStatus.ORDERED.value):
        raise ConflictError(
            f"request {req.id} is {req.status}; it can be acquired in key-and-csr or ordered"
        )
    if req.issuer_kind == "vendor":
        raise ConflictError(
            "vendor certificates are ordered by hand: record the order, then receive the certificate"
        )
    try:
        if req.issuer_kind == "private-ca":
            cert, chain = await _from_private_ca(db, vault, actor, req, d, clock, env)
        elif req.issuer_kind == "acme":
            cert, chain = await _from_acme(db, vault, actor, req, d, clock, env)
        else:
            raise ConflictError(f"unknown issuer {req.issuer_kind!r}")
        # The CA's own chain is authoritative: a private ACME CA's root need not be in any trust store.
        source = (
            CertificateSource.ISSUED
            if req.issuer_kind == "private-ca"
            else CertificateSource.RECEIVED
        )
        done = await _receive(
            db, actor, req.id, cert, chain, clock, source=source, require_complete=False
        )
    except (UpstreamError, InputError) as err:
        await _record_failure(db, actor, req.id, err, clock)
        async with db.reader() as s:
            return await find_request(s, req.id)
    await _after_switch(db, vault, actor, done, clock)
    return done


async def _after_switch(
    db: Database, vault: MasterKey, actor: Actor, req: CertificateRequest, clock: Clock
) -> None:
    """Send the new current certificate to agent deployments (when the definition allows it)."""
    if req.status != RequestStatus.DONE.value:
        return
    # the subscribers (agent auto-install) report their failures instead of raising
    done = await CERTIFICATE_SWITCHED.publish(
        db, vault, CertificateSwitched(req.definition_id, actor), clock
    )
    queued, failures = done.queued, done.failures
    async with db.transaction() as s:
        row = await find_request(s, req.id)
        if queued:
            add_event(
                s,
                row,
                actor,
                "auto-install",
                f"new certificate queued for {queued} agent deployment(s)",
                clock,
            )
        for message in failures:
            add_event(s, row, actor, "auto-install-failed", message[:2000], clock)


async def _record_failure(
    db: Database, actor: Actor, request_id: int, err: CertmgrError, clock: Clock
) -> None:
    async with db.transaction() as s:
        req = await find_request(s, request_id)
        req.attempts += 1
        req.last_error = str(err)[:4000]
        retry_after = getattr(err, "retry_after", None)
        delay = retry_delay(req.attempts)
        if isinstance(retry_after, int | float) and retry_after > 0:
            delay = max(delay, dt.timedelta(seconds=float(retry_after)))
        req.next_attempt_at = clock.now() + delay
        req.updated_at = clock.now()
        add_event(
            s,
            req,
            actor,
            "failed",
            str(err),
            clock,
            {
                "attempt": req.attempts,
                "retry_at": req.next_attempt_at.isoformat(),
                "kind": err.__class__.__name__,
            },
        )
        audit(
            s,
            actor,
            "request.failed",
            "request",
            req.id,
            {"attempt": req.attempts, "error": str(err)[:300]},
            clock=clock,
        )


async def _from_private_ca(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    req: CertificateRequest,
    d: CertificateDefinition,
    clock: Clock,
    env: IssuerEnv,
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    from certmgr.controller.services.acquisition.private_ca import (
        CaContext,
        IssueRequest,
        issue_for_definitions,
    )

    (row,) = await issue_for_definitions(
        db,
        vault,
        actor,
        CaContext(env.ca_dir, env.crl_url),
        [IssueRequest(d.id, csr_pem=req.csr_pem.encode(), make_current=False)],
        clock=clock,
    )
    async with db.reader() as s:
        from certmgr.controller.services.certificates.store import chain_of

        chain = [x509.load_der_x509_certificate(c.der) for c in await chain_of(s, row.id)]
    return x509.load_der_x509_certificate(row.der), chain


async def _from_acme(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    req: CertificateRequest,
    d: CertificateDefinition,
    clock: Clock,
    env: IssuerEnv,
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    from certmgr.controller.issuers.acme import obtain_certificate
    from certmgr.controller.services.acquisition.acme_accounts import account_record, find_account
    from certmgr.controller.services.acquisition.acme_env import ari_replaces, solver_for

    if req.acme_account_id is None:
        raise InputError(f"definition {d.name!r} has no ACME account (set one with --acme-account)")
    account_row = await find_account(db, req.acme_account_id)
    record = account_record(account_row, vault)
    replaces = await ari_replaces(db, req, record)
    async with db.transaction() as s:
        r = await find_request(s, req.id)
        if r.status == RequestStatus.KEY_AND_CSR.value:
            move(
                s,
                r,
                actor,
                RequestStatus.ORDERED,
                f"ordering from {account_row.directory_url} (account {account_row.name})",
                clock,
                {"replaces": replaces} if replaces else None,
            )
    solver = solver_for(account_row, vault, env.http01_solver)
    result = await obtain_certificate(
        record, req.csr_pem.encode(), challenge=solver, replaces=replaces, timeout=env.acme_timeout
    )
    async with db.transaction() as s:
        r = await find_request(s, req.id)
        r.acme_order_url = result.order_url[:500]
        add_event(
            s,
            r,
            actor,
            "acme-issued",
            f"order {result.order_url} valid; certificate downloaded",
            clock,
        )
    certs = x509.load_pem_x509_certificates(result.fullchain_pem)
    return certs[0], certs[1:]


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
    from certmgr.shared.errors import ValidationError

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
            req.vendor_account_id = vendor_account_id
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


async def receive_certificate(
    db: Database,
    actor: Actor,
    request_id: int,
    data: bytes,
    clock: Clock,
    *,
    name: str = "certificate",
    chain_data: Sequence[bytes] = (),
    password: bytes | None = None,
    vault: MasterKey,
) -> CertificateRequest:
    """Receive a vendor's certificate (any importable format) for a request.

    The vault unseals the key for the agents that get the new certificate (auto-deploy).

    Raises:
        KeyMismatchError: It is for another key.
        InputError: Names differ from the CSR, not valid now, or the chain cannot be completed.
    """
    bundle = load(data, password=password, name=name)
    extra: list[x509.Certificate] = []
    for i, c in enumerate(chain_data):
        extra.extend(load(c, name=f"chain {i + 1}").certificates)
    async with db.reader() as s:
        req = await find_request(s, request_id)
        if req.status not in (RequestStatus.KEY_AND_CSR.value, RequestStatus.ORDERED.value):
            raise ConflictError(
                f"request {req.id} is {req.status}; certificates are received in key-and-csr or ordered"
            )
        krow = await s.get(PrivateKeyRecord, req.private_key_id) if req.private_key_id else None
    if krow is None or not req.csr_pem:
        raise ConflictError("the request has no key and CSR yet")
    csr = load_csr(req.csr_pem.encode(), name="request CSR")
    mine = [c for c in bundle.certificates if key_matches_certificate(csr.public_key(), c)]  # type: ignore[arg-type]
    if not mine:
        subj = bundle.certificates[0].subject.rfc4514_string() if bundle.certificates else "(none)"
        raise KeyMismatchError(f"the certificate ({subj}) does not match the request's private key")
    cert = mine[0]
    others = [c for c in [*bundle.certificates, *extra] if c is not cert]
    done = await _receive(
        db,
        actor,
        request_id,
        cert,
        others,
        clock,
        source=CertificateSource.RECEIVED,
        check_names=csr,
    )
    await _after_switch(db, vault, actor, done, clock)
    return done


async def _receive(
    db: Database,
    actor: Actor,
    request_id: int,
    cert: x509.Certificate,
    chain_candidates: list[x509.Certificate],
    clock: Clock,
    *,
    source: str,
    check_names: x509.CertificateSigningRequest | None = None,
    require_complete: bool = True,
) -> CertificateRequest:
    now = clock.now()
    if cert.not_valid_before_utc > now + dt.timedelta(minutes=5):
        raise InputError(
            f"the certificate is not valid yet (valid from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC)"
        )
    if cert.not_valid_after_utc <= now:
        raise InputError(f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if check_names is not None:
        _same_names(check_names, cert)
    async with db.transaction() as s:
        from certmgr.shared.tlstrust import load_system_roots

        req = await find_request(s, request_id)
        d = await find_definition(s, req.definition_id)
        known = await known_ca_certificates(s)
        roots = await asyncio.to_thread(load_system_roots) if require_complete else ()
        chain = build_chain(cert, [*chain_candidates, *known], trusted=roots)
        if require_complete and not chain.complete:
            raise InputError(
                f"the chain is incomplete: issuer {chain.missing_issuer or '?'} was not supplied; add the intermediate certificates"
            )
        fp = sha256_fingerprint(cert)
        row = (
            await s.execute(select(Certificate).where(Certificate.sha256 == fp))
        ).scalar_one_or_none()
        if row is None:
            row = certificate_row(cert, source=source, now=now)
            s.add(row)
            await s.flush()
        row.definition_id = d.id
        row.private_key_id = req.private_key_id
        ca_rows = []
        for c in chain.chain:
            cfp = sha256_fingerprint(c)
            cr = (
                await s.execute(select(Certificate).where(Certificate.sha256 == cfp))
            ).scalar_one_or_none()
            if cr is None:
                cr = certificate_row(c, source=CertificateSource.IMPORTED, now=now)
                s.add(cr)
                await s.flush()
            ca_rows.append(cr)
        await set_chain(
            s,
            row,
            [c for c in ca_rows if not c.self_signed]
            if source == CertificateSource.RECEIVED
            else ca_rows,
        )
        req.certificate_id = row.id
        req.last_error = ""
        req.next_attempt_at = None
        move(
            s,
            req,
            actor,
            RequestStatus.RECEIVED,
            f"certificate received: serial {row.serial_hex}, expires {row.not_after:%Y-%m-%d}, SHA-256 {row.sha256}",
            clock,
            {"certificate": row.id},
        )
        await switch_current(s, actor, d, row, clock)
        move(
            s,
            req,
            actor,
            RequestStatus.CURRENT_SWITCHED,
            f"certificate #{row.id} is now current",
            clock,
        )
        move(s, req, actor, RequestStatus.DONE, "done", clock)
    return req


def _same_names(csr: x509.CertificateSigningRequest, cert: x509.Certificate) -> None:
    def names(obj: x509.Certificate | x509.CertificateSigningRequest) -> set[str]:
        try:
            return {
                san_text(g).lower()
                for g in obj.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            }
        except x509.ExtensionNotFound:
            return set()

    want, got = names(csr), names(cert)
    if want - got:
        raise InputError(
            f"the certificate lacks names the request asked for: {', '.join(sorted(want - got))}"
        )
    from cryptography.x509.oid import NameOID

    cn = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    got_cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if (
        cn
        and got_cn
        and str(cn[0]).lower() != str(got_cn[0]).lower()
        and str(cn[0]).lower() not in got
    ):
        raise InputError(
            f"the certificate's common name {got_cn[0]!r} differs from the request's {cn[0]!r}"
        )


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
