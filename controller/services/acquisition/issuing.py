"""Getting a request's certificate from an automatic issuer (private CA, ACME), with retries and backoff."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    AcmeAccount,
    Certificate,
    CertificateDefinition,
    CertificateRequest,
)
from certmgr.controller.db.queries.certificates import chain_rows
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.renewal import retry_delay
from certmgr.controller.domain.states import REQUEST_STATE_WORDS, RequestStatus
from certmgr.controller.domain.values import CertificateSource
from certmgr.controller.issuers.acme import obtain_certificate
from certmgr.controller.services.acquisition.acme_accounts import account_record
from certmgr.controller.services.acquisition.acme_env import ari_replaces, solver_for
from certmgr.controller.services.acquisition.ca_context import CaContext
from certmgr.controller.services.acquisition.ca_issue import IssueRequest, issue_for_definitions
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.acquisition.receiving import after_switch, receive_issued
from certmgr.controller.services.acquisition.requests import (
    IssuerEnv,
    add_event,
    find_request,
    move,
)
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import load_der
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    CertmgrError,
    ConflictError,
    InputError,
    NotFoundError,
    UpstreamError,
)


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
        acme_rows = await _acme_rows(s, req) if req.issuer_kind == "acme" else (None, None)
    if req.status not in (RequestStatus.KEY_AND_CSR.value, RequestStatus.ORDERED.value):
        raise ConflictError(
            f"request {req.id} is {REQUEST_STATE_WORDS.get(req.status, req.status)}: only a "
            "request waiting to be ordered, or ordered, can get its certificate; open a new "
            "request on the definition instead"
        )
    if req.issuer_kind == "vendor":
        raise ConflictError(
            "vendor certificates are ordered by hand: record the order, then receive the certificate"
        )
    try:
        if req.issuer_kind == "private-ca":
            cert, chain = await _from_private_ca(db, vault, actor, req, d, clock, env)
        elif req.issuer_kind == "acme":
            cert, chain = await _from_acme(db, vault, actor, req, d, clock, env, *acme_rows)
        else:
            raise ConflictError(f"unknown issuer {req.issuer_kind!r}")
        # The CA's own chain is authoritative: a private ACME CA's root need not be in any trust store.
        source = (
            CertificateSource.ISSUED
            if req.issuer_kind == "private-ca"
            else CertificateSource.RECEIVED
        )
        done = await receive_issued(
            db, actor, req.id, cert, chain, clock, source=source, require_complete=False
        )
    except (UpstreamError, InputError) as err:
        await _record_failure(db, actor, req.id, err, clock)
        async with db.reader() as s:
            return await find_request(s, req.id)
    await after_switch(db, vault, actor, done, clock)
    return done


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
    (row,) = await issue_for_definitions(
        db,
        vault,
        actor,
        CaContext(env.ca_dir, env.crl_url),
        [IssueRequest(d.id, csr_pem=req.csr_pem.encode(), make_current=False)],
        clock=clock,
    )
    async with db.reader() as s:
        chain = load_der(await chain_rows(s, row.id))
    return x509.load_der_x509_certificate(row.der), chain


async def _acme_rows(
    s: AsyncSession, req: CertificateRequest
) -> tuple[AcmeAccount | None, Certificate | None]:
    """The request's ACME account and the certificate it replaces (read with the request)."""
    account = (
        await s.get(AcmeAccount, req.acme_account_id) if req.acme_account_id is not None else None
    )
    old = (
        await s.get(Certificate, req.replaces_certificate_id)
        if req.replaces_certificate_id
        else None
    )
    return account, old


async def _from_acme(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    req: CertificateRequest,
    d: CertificateDefinition,
    clock: Clock,
    env: IssuerEnv,
    account_row: AcmeAccount | None,
    replaced: Certificate | None,
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    if req.acme_account_id is None:
        raise InputError(
            f"definition {d.name!r} has no ACME account (choose one on the definition)"
        )
    if account_row is None:
        raise NotFoundError(
            f"no ACME account {req.acme_account_id!r} (add one with 'certmgr acme account add')"
        )
    record = account_record(account_row, vault)
    replaces = await ari_replaces(replaced, record, env.acme_connections)
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
        record,
        req.csr_pem.encode(),
        challenge=solver,
        replaces=replaces,
        timeout=env.acme_timeout,
        connections=env.acme_connections,
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
