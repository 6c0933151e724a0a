"""Agent enrolment and authentication: enrolment tokens, enrolment, signed requests and answers, approval."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
from cryptography import x509
from sqlalchemy import CursorResult, Insert, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AgentNonce, EnrollmentToken
from certmgr.controller.db.queries._bulk import table_insert
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.admin.refusals import ENROLMENT_PREFIX, count_refusal, source_key
from certmgr.controller.services.agents.identity import (
    answer_identity,
    controller_identity,
    controller_key_sha256,
    signing_key,
)
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from certmgr.shared.pki import sha256_fingerprint
from certmgr.shared.secret import Secret

TOKEN_LIFETIME = dt.timedelta(hours=24)
SEEN_RESOLUTION = dt.timedelta(minutes=1)
"""An agent's last contact is written at most this often (every long-poll would be an UPDATE)."""
AuthenticatedAgent = Agent
"""What :func:`authenticate` returns: the agent row (for annotations outside the services)."""


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else -1


def agent_actor(agent: Agent) -> Actor:
    """The actor an agent's reports are recorded as."""
    return Actor(name=f"agent:{agent.name}", role=Role.SYSTEM, source=f"agent {agent.id}")


def _read_ca_sha256(ca_dir: Path) -> str:
    try:
        return sha256_fingerprint(
            x509.load_pem_x509_certificates((ca_dir / "ca.pem").read_bytes())[0]
        )
    except (OSError, ValueError, IndexError) as err:
        raise ConfigurationError(f"cannot read the CA certificate in {ca_dir}") from err


async def ca_certificate_sha256(ca_dir: Path) -> str:
    """SHA-256 of the CA certificate agents pin (the first certificate in ``ca/ca.pem``), read off the loop.

    Raises:
        ConfigurationError: The CA certificate cannot be read.
    """
    return await asyncio.to_thread(_read_ca_sha256, ca_dir)


async def create_enrollment_token(
    db: Database,
    actor: Actor,
    clock: Clock,
    *,
    controller_url: str,
    ca_sha256: str = "",
    ca_dir: Path | None = None,
    name_hint: str = "",
    ttl: dt.timedelta = TOKEN_LIFETIME,
    auto_approve: bool = True,
    vault: MasterKey | None = None,
) -> str:
    """A single-use enrolment token (printed once; only its hash is stored).

    The token names the controller's signing key (the identity agents pin); with ``vault`` the
    key is made when there is none yet. Without it, and without a key, the token names none and
    the agent refuses it. The CA fingerprint is ``ca_sha256``, or read from ``ca_dir``.

    Raises:
        PermissionDeniedError: Not an admin.
        ValidationError: Bad lifetime.
        ConfigurationError: The stored controller key or the CA certificate is damaged.
    """
    actor.require_admin("creating agent enrolment tokens")
    if not dt.timedelta(minutes=1) <= ttl <= dt.timedelta(days=30):
        raise ValidationError("a token lives between 1 minute and 30 days", field="ttl")
    if ca_dir is not None and not ca_sha256:
        ca_sha256 = await ca_certificate_sha256(ca_dir)
    secret = secrets.token_urlsafe(24)
    if vault is not None:
        key_sha256 = (await controller_identity(db, vault)).public_sha256
    else:
        key_sha256 = await controller_key_sha256(db)
    now = clock.now()
    async with db.transaction() as s:
        row = EnrollmentToken(
            secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
            name_hint=name_hint[:200],
            auto_approve=auto_approve,
            expires_at=now + ttl,
            created_by=actor.name,
            created_at=now,
        )
        s.add(row)
        await s.flush()
        audit(
            s,
            actor,
            "agent.token-create",
            "enrollment-token",
            row.id,
            {"expires": row.expires_at.isoformat(), "name": name_hint[:200]},
            clock=clock,
        )
    return p.format_token(
        p.EnrollmentToken(
            controller_url=controller_url,
            ca_sha256=ca_sha256,
            secret=Secret(secret),
            expires_at=now + ttl,
            controller_key_sha256=key_sha256,
        )
    )


async def enroll(
    db: Database,
    vault: MasterKey,
    req: p.EnrollRequest,
    clock: Clock,
    *,
    address: str,
    poll_wait: int = 25,
) -> p.EnrollResponse:
    """Register an agent with a valid, unused token.

    Raises:
        PermissionDeniedError: Unknown, used or expired token.
        ValidationError: Malformed public keys.
    """
    digest = hashlib.sha256(req.token_secret.reveal().encode()).hexdigest()
    now = clock.now()
    if len(req.x25519_public_key) != 32 or len(req.ed25519_public_key) != 32:
        raise ValidationError("public keys must be 32 bytes", field="public_key")
    signing = await signing_key(db, vault)
    who = Actor(name=f"agent:{req.agent_name[:50]}", role=Role.SYSTEM, source=address)
    refused: tuple[object, str] | None = None
    async with db.transaction() as s:
        token = (
            await s.execute(select(EnrollmentToken).where(EnrollmentToken.secret_sha256 == digest))
        ).scalar_one_or_none()
        if token is None or token.used_at is not None or token.expires_at <= now:
            refused = (
                token.id if token else "",
                "unknown" if token is None else "used" if token.used_at else "expired",
            )
        else:
            # claim the token in one statement: of two enrolments racing with it, one wins
            claimed = await s.execute(
                update(EnrollmentToken)
                .where(EnrollmentToken.id == token.id, EnrollmentToken.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(claimed) != 1:
                refused = (token.id, "used")
        if refused is None and token is not None:
            agent = Agent(
                name=(token.name_hint or req.agent_name)[:200],
                hostname=req.hostname[:255],
                version=req.agent_version[:50],
                x25519_public=req.x25519_public_key,
                ed25519_public=req.ed25519_public_key,
                status="approved" if token.auto_approve else "pending",
                enrolled_at=now,
                last_seen_at=now,
                targets=[t.to_json() for t in req.targets],
            )
            s.add(agent)
            await s.flush()
            await s.execute(
                update(EnrollmentToken)
                .where(EnrollmentToken.id == token.id)
                .values(agent_id=agent.id)
                .execution_options(synchronize_session=False)
            )
            audit(
                s,
                who,
                "agent.enroll",
                "agent",
                agent.id,
                {"hostname": agent.hostname, "status": agent.status},
                clock=clock,
            )
    if refused is not None:
        await _record_refusal(db, who, address, req.hostname, refused, clock)
        raise PermissionDeniedError("the enrolment token is unknown, already used or expired")
    return p.EnrollResponse(
        agent_id=str(agent.id),
        controller_verify_key=bytes(signing.verify_key),
        poll_wait_seconds=poll_wait,
    )


async def _record_refusal(
    db: Database,
    who: Actor,
    address: str,
    hostname: str,
    refused: tuple[object, str],
    clock: Clock,
) -> None:
    """Count a refused enrolment; audit the first of its source's minute.

    Recorded in its own transaction: a refusal must not vanish with a rollback. Counted per
    source and minute like the IP allow-list's, so guessing tokens cannot flood the audit log.
    """
    async with db.transaction() as s:
        if (
            await count_refusal(s, ENROLMENT_PREFIX + source_key(address), p.PATH_ENROLL, clock)
            == 1
        ):
            audit(
                s,
                who,
                "agent.enroll-refused",
                "enrollment-token",
                refused[0],
                {"reason": refused[1], "hostname": hostname[:100], "counted_per_minute": True},
                clock=clock,
            )


@functools.cache
def _nonce_insert() -> Insert:
    """The nonce's INSERT, built once (every agent request runs it)."""
    return table_insert(AgentNonce)


@dataclass(frozen=True)
class SignedRequest:
    """An agent request whose signature checked out; its nonce is not recorded yet.

    Whatever the request does is done in a transaction that first calls :meth:`record`, so a
    replayed request is refused before it changes anything, and a request costs one transaction.
    """

    agent: Agent
    nonce: str
    at: dt.datetime

    async def record(self, s: AsyncSession) -> None:
        """Note the nonce (refusing a replay) and, at most once a minute, the agent's last contact.

        Raises:
            PermissionDeniedError: The nonce was seen before (the caller's transaction rolls back).
        """
        agent = self.agent
        try:
            await s.execute(
                _nonce_insert(), {"agent_id": agent.id, "nonce": self.nonce, "at": self.at}
            )
        except IntegrityError as err:
            raise PermissionDeniedError(
                "replayed request (nonce seen before)", actor=agent.name
            ) from err
        if agent.last_seen_at is None or self.at - agent.last_seen_at >= SEEN_RESOLUTION:
            await s.execute(update(Agent).where(Agent.id == agent.id).values(last_seen_at=self.at))


async def verify_agent(
    db: Database,
    headers: Any,
    method: str,
    path: str,
    body: bytes,
    clock: Clock,
    *,
    allow_pending: bool = False,
    allow_revoked: bool = False,
) -> SignedRequest:
    """The agent that signed this request (signature and clock skew checked; the nonce is the caller's).

    Only approved agents pass, unless the caller lets a pending one wait for its approval
    (``allow_pending``) or lets a revoked one learn that it was revoked (``allow_revoked``). The
    caller records the nonce with :meth:`SignedRequest.record` in the transaction that acts on
    the request; :func:`authenticate` does both for a request that needs no transaction of its own.

    Raises:
        PermissionDeniedError: Unknown, pending or revoked agent; bad signature.
    """
    agent_id = p.agent_id_of(headers)
    if not agent_id.isdigit():
        raise PermissionDeniedError("unknown agent")
    now = clock.now()
    async with db.reader() as s:
        agent = await s.get(Agent, int(agent_id))
    if agent is None:
        raise PermissionDeniedError("unknown agent")
    _, nonce = p.verify_request(
        nacl.signing.VerifyKey(agent.ed25519_public), headers, method, path, body, now
    )
    if agent.status == "revoked" and not allow_revoked:
        raise PermissionDeniedError("this agent was revoked", actor=agent.name)
    if agent.status == "pending" and not allow_pending:
        raise PermissionDeniedError("this agent waits for an admin's approval", actor=agent.name)
    if agent.status not in ("approved", "pending", "revoked"):
        raise PermissionDeniedError("this agent is not approved", actor=agent.name)
    if secrets.randbelow(200) == 0:
        async with db.transaction() as s:
            await s.execute(
                delete(AgentNonce).where(
                    AgentNonce.at < now - dt.timedelta(seconds=4 * p.DEFAULT_MAX_SKEW)
                )
            )
    return SignedRequest(agent, nonce, now)


async def authenticate(
    db: Database,
    headers: Any,
    method: str,
    path: str,
    body: bytes,
    clock: Clock,
    *,
    allow_pending: bool = False,
    allow_revoked: bool = False,
) -> Agent:
    """The agent that signed this request (signature, clock skew and nonce checked and recorded).

    As :func:`verify_agent`, with the nonce recorded in a transaction of its own.

    Raises:
        PermissionDeniedError: Unknown, pending or revoked agent; bad signature; replayed nonce.
    """
    signed = await verify_agent(
        db,
        headers,
        method,
        path,
        body,
        clock,
        allow_pending=allow_pending,
        allow_revoked=allow_revoked,
    )
    async with db.transaction() as s:
        await signed.record(s)
    return signed.agent


async def sign_agent_answer(
    db: Database,
    vault: MasterKey,
    request_headers: Any,
    method: str,
    path_with_query: str,
    status: int,
    body: bytes,
) -> dict[str, str]:
    """Headers that sign an answer to an authenticated agent request with the controller's key.

    The signature covers the answer and the request's own nonce (already verified by
    :func:`authenticate`), so it cannot be replayed to another request.

    Raises:
        PermissionDeniedError: The request carries no single nonce header.
        ConfigurationError: The stored controller key is damaged.
    """
    nonces = [v for k, v in request_headers.items() if k.lower() == p.HEADER_NONCE.lower()]
    if len(nonces) != 1:
        raise PermissionDeniedError("request is not signed (no single nonce)")
    identity = await answer_identity(db, vault)
    return identity.answer_headers(method, path_with_query, nonces[0], status, body)


async def set_status(db: Database, actor: Actor, agent_id: int, status: str, clock: Clock) -> Agent:
    """Approve or revoke an agent.

    Raises:
        PermissionDeniedError: Not an admin.
        NotFoundError: No such agent.
        ValidationError: Unknown status.
    """
    actor.require_admin("managing agents")
    if status not in ("approved", "revoked"):
        raise ValidationError("status must be approved or revoked", field="status")
    async with db.transaction() as s:
        agent = await s.get(Agent, agent_id)
        if agent is None:
            raise NotFoundError(f"no agent {agent_id}")
        agent.status = status
        audit(s, actor, f"agent.{status}", "agent", agent.id, {"name": agent.name}, clock=clock)
        return agent
