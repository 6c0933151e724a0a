"""Keys made on the agent: the request that asks an agent for a key and CSR, and the agent's answer.

The private key never leaves the agent; the controller queues a ``keygen`` job, the agent
answers with a CSR (or the reason it could not make the key), and the request goes on to
acquisition as any other would.
"""

from __future__ import annotations

from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AgentWork, CertificateDefinition, CertificateRequest
from certmgr.controller.db.queries.agents import open_work
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.acquisition.agent_csr import attach_agent_csr
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.acquisition.issuing import acquire
from certmgr.controller.services.acquisition.requests import IssuerEnv, start_request
from certmgr.controller.services.agents.enrolment import agent_actor
from certmgr.controller.services.agents.wakeups import wakeups_for
from certmgr.controller.services.certificates.key_release import record_key_release
from certmgr.controller.vault import MasterKey
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, NotFoundError


async def accept_agent_csr(
    db: Database,
    vault: MasterKey,
    agent: Agent,
    request_id: int,
    upload: p.CsrUpload,
    clock: Clock,
    env: IssuerEnv,
) -> None:
    """The agent made the key for a request (or could not): attach its CSR and acquire when automatic.

    Raises:
        NotFoundError: No such request (of this agent).
        ConflictError: The request does not wait for this agent's CSR.
        InputError: The CSR is malformed or does not match the request.
    """
    actor = agent_actor(agent)
    if not upload.csr_pem:
        await fail_keygen(db, agent, request_id, upload.error, clock)
        return
    req = await attach_agent_csr(
        db,
        agent.id,
        actor,
        request_id,
        upload.csr_pem.encode(),
        clock,
        public_key_sha256=upload.public_key_sha256,
    )
    if req.issuer_kind in ("private-ca", "acme"):
        await acquire(db, vault, actor, req.id, clock, env)


async def queue_keygen(
    db: Database, agent_id: int, request_id: int, spec: dict[str, Any], clock: Clock
) -> None:
    """Ask an agent to make a key and CSR for a request."""
    async with db.transaction() as s:
        s.add(
            AgentWork(
                agent_id=agent_id,
                kind="keygen",
                request_id=request_id,
                spec=spec,
                state="queued",
                created_at=clock.now(),
            )
        )


async def fail_keygen(
    db: Database, agent: Agent, request_id: int, error: str, clock: Clock
) -> bool:
    """Record that the agent could not make the key it was asked for (its own open job only).

    A CSR goes through :func:`certmgr.controller.services.acquisition.requests.attach_agent_csr` instead,
    which closes the job in the same transaction.

    Returns:
        Whether the agent held an open key job for the request.
    """
    async with db.transaction() as s:
        found = False
        for w in await open_work(s, agent_id=agent.id, request_id=request_id, kind="keygen"):
            found = True
            w.state = "failed"
            w.done_at = clock.now()
            w.spec = {**w.spec, "error": error[:500]}
    return found


async def request_key_on_agent(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    definition_ref: str | int,
    agent_id: int,
    clock: Clock,
) -> CertificateRequest:
    """Start a request whose key the agent makes (the CSR comes back through the agent API).

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: No such definition or agent.
        ConflictError: The agent is not approved, or the definition has an open request.
    """
    actor.require_key_release("having an agent make the key", f"agent {agent_id}")
    async with db.reader() as s:
        agent = await s.get(Agent, agent_id)
        d = await find_definition(s, definition_ref)
    if agent is None:
        raise NotFoundError(f"no agent {agent_id}")
    if agent.status != "approved":
        raise ConflictError(f"agent {agent_id} is not approved")
    req = await start_request(db, vault, actor, d.id, clock, key_on_agent=True)
    spec = {"key_type": d.key_type, "common_name": d.common_name, "sans": list(d.sans)}
    await queue_keygen(db, agent.id, req.id, spec, clock)
    await wakeups_for(db).notify(str(agent.id))
    return req


async def start_key_on_agent(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    definition_ref: str | int,
    agent_id: int,
    clock: Clock,
) -> CertificateRequest:
    """Start a request whose key an agent makes, and audit it as a key release to that agent.

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: No such definition or agent.
        ConflictError: The agent is not approved, or the definition has an open request.
    """
    actor.require_key_release("having an agent make the key", f"agent {agent_id}")
    req: CertificateRequest = await request_key_on_agent(
        db, vault, actor, definition_ref, agent_id, clock
    )
    async with db.transaction() as s:
        d = await s.get(CertificateDefinition, req.definition_id)
        agent = await s.get(Agent, agent_id)
        record_key_release(
            s,
            actor,
            what="key-on-agent",
            to_whom=f"agent {agent_id} ({agent.name if agent else '?'})",
            definition=(req.definition_id, d.name if d else ""),
            clock=clock,
            detail={"request": req.id},
        )
    return req
