"""A CSR made on an agent (key-on-agent requests): accepted once, from the agent holding the key job."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    AgentWork,
    CertificateDefinition,
    CertificateRequest,
    PrivateKeyRecord,
)
from certmgr.controller.db.queries.keys import keys_by_public_sha256
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import RequestStatus
from certmgr.controller.domain.values import KeyOrigin
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.acquisition.requests import find_request, move
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock
from certmgr.shared.errors import InputError, PermissionDeniedError, ValidationError
from certmgr.shared.pki import describe_key, load_csr
from certmgr.shared.pki.names import san_text


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
    csr = load_csr(csr_data, name="agent CSR")
    info = describe_key(csr.public_key())  # type: ignore[arg-type]
    if public_key_sha256 and public_key_sha256 != info.public_sha256:
        raise ValidationError(
            "the CSR is not for the public key sent with it", field="public_key_sha256"
        )
    async with db.transaction() as s:
        req = await find_request(s, request_id)
        refusal = await _claim_key_job(s, req, agent_id, clock)
        if not refusal:
            await _attach(s, req, csr, actor, agent_id, clock)
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


async def _claim_key_job(
    s: AsyncSession, req: CertificateRequest, agent_id: int, clock: Clock
) -> str:
    """Close this agent's open key job for the request; why not, when it cannot (else "")."""
    if not req.key_on_agent:
        return "the request takes no key made on an agent"
    open_states = ("queued", "delivered")
    work_id = (
        await s.execute(
            select(AgentWork.id)
            .where(
                AgentWork.kind == "keygen",
                AgentWork.request_id == req.id,
                AgentWork.agent_id == agent_id,
                AgentWork.state.in_(open_states),
            )
            .order_by(AgentWork.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if work_id is None:
        return "this agent holds no open key request for it"
    claimed = await s.execute(
        update(AgentWork)
        .where(AgentWork.id == work_id, AgentWork.state.in_(open_states))
        .values(state="done", done_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
        return "this agent holds no open key request for it"
    return ""


async def _attach(
    s: AsyncSession,
    req: CertificateRequest,
    csr: x509.CertificateSigningRequest,
    actor: Actor,
    agent_id: int,
    clock: Clock,
) -> None:
    """Record the agent's public key and CSR on the request (status ``key-and-csr``)."""
    info = describe_key(csr.public_key())  # type: ignore[arg-type]
    d = await find_definition(s, req.definition_id)
    _check_csr_names(csr, d)
    krow = (await keys_by_public_sha256(s, [info.public_sha256])).get(info.public_sha256)
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
