"""Agents: enrolment tokens, enrolment, signed requests, work queue, reports and inventories."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import nacl.public
import nacl.signing
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AgentNonce, AgentWork, Deployment, EnrollmentToken
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.agents.identity import (
    controller_identity,
    controller_key_sha256,
    signing_key,
)
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.material import current_material
from certmgr.controller.services.deployment.deployments import (
    add_event,
    deployment_with_definition,
    move,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock
from certmgr.shared.envelope import Manifest, key_id, seal_for_agent
from certmgr.shared.errors import (
    CertmgrError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from certmgr.shared.pki import pem_bundle, private_key_to_pkcs8_der
from certmgr.shared.secret import Secret

TOKEN_LIFETIME = dt.timedelta(hours=24)
PACKAGE_LIFETIME = dt.timedelta(days=7)
MAX_ITEMS = 16
OPEN_WORK = ("queued", "delivered")
"""States of a work item that still waits for the agent's answer."""


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else -1


def agent_actor(agent: Agent) -> Actor:
    """The actor an agent's reports are recorded as."""
    return Actor(name=f"agent:{agent.name}", role=Role.SYSTEM, source=f"agent {agent.id}")


async def create_enrollment_token(
    db: Database,
    actor: Actor,
    clock: Clock,
    *,
    controller_url: str,
    ca_sha256: str,
    name_hint: str = "",
    ttl: dt.timedelta = TOKEN_LIFETIME,
    auto_approve: bool = True,
    vault: MasterKey | None = None,
) -> str:
    """A single-use enrolment token (printed once; only its hash is stored).

    The token names the controller's signing key (the identity agents pin); with ``vault`` the
    key is made when there is none yet. Without it, and without a key, the token names none and
    the agent refuses it.

    Raises:
        PermissionDeniedError: Not an admin.
        ValidationError: Bad lifetime.
        ConfigurationError: The stored controller key is damaged.
    """
    actor.require_admin("creating agent enrolment tokens")
    if not dt.timedelta(minutes=1) <= ttl <= dt.timedelta(days=30):
        raise ValidationError("a token lives between 1 minute and 30 days", field="ttl")
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
        # recorded in its own transaction: a refusal must not vanish with a rollback
        async with db.transaction() as s:
            audit(
                s,
                who,
                "agent.enroll-refused",
                "enrollment-token",
                refused[0],
                {"reason": refused[1], "hostname": req.hostname[:100]},
                clock=clock,
            )
        raise PermissionDeniedError("the enrolment token is unknown, already used or expired")
    return p.EnrollResponse(
        agent_id=str(agent.id),
        controller_verify_key=bytes(signing.verify_key),
        poll_wait_seconds=poll_wait,
    )


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
    """The agent that signed this request (signature, clock skew and nonce checked).

    Only approved agents pass, unless the caller lets a pending one wait for its approval
    (``allow_pending``) or lets a revoked one learn that it was revoked (``allow_revoked``).

    Raises:
        PermissionDeniedError: Unknown, pending or revoked agent; bad signature; replayed nonce.
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
    try:
        async with db.transaction() as s:
            s.add(AgentNonce(agent_id=agent.id, nonce=nonce, at=now))
            fresh = await s.get(Agent, agent.id)
            if fresh is not None:
                fresh.last_seen_at = now
    except IntegrityError as err:
        raise PermissionDeniedError(
            "replayed request (nonce seen before)", actor=agent.name
        ) from err
    if secrets.randbelow(200) == 0:
        async with db.transaction() as s:
            await s.execute(
                delete(AgentNonce).where(
                    AgentNonce.at < now - dt.timedelta(seconds=4 * p.DEFAULT_MAX_SKEW)
                )
            )
    return agent


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
    identity = await controller_identity(db, vault)
    return identity.answer_headers(method, path_with_query, nonces[0], status, body)


async def pending_work(db: Database, agent: Agent, clock: Clock) -> p.WorkResponse:
    """Queued packages and key requests for the agent (re-sent until reported)."""
    if agent.status != "approved":
        return p.WorkResponse(revoked=agent.status == "revoked")
    async with db.transaction() as s:
        rows = (
            (
                await s.execute(
                    select(AgentWork)
                    .where(AgentWork.agent_id == agent.id, AgentWork.state.in_(OPEN_WORK))
                    .order_by(AgentWork.id)
                    .limit(2 * MAX_ITEMS)
                )
            )
            .scalars()
            .all()
        )
        packages: list[p.WorkPackage] = []
        keygen: list[p.KeygenRequest] = []
        for w in rows:
            if (
                w.kind == "package"
                and w.blob is not None
                and w.deployment_id is not None
                and len(packages) < MAX_ITEMS
            ):
                packages.append(
                    p.WorkPackage(deployment_id=w.deployment_id, sequence=w.sequence, blob=w.blob)
                )
            elif w.kind == "keygen" and len(keygen) < MAX_ITEMS:
                keygen.append(
                    p.KeygenRequest(
                        request_id=str(w.request_id),
                        key_type=str(w.spec.get("key_type", "ec-p256")),
                        common_name=str(w.spec.get("common_name", "")),
                        sans=tuple(w.spec.get("sans", ())),
                    )
                )
            else:
                continue
            if w.state == "queued":
                w.state = "delivered"
                w.delivered_at = clock.now()
    return p.WorkResponse(packages=tuple(packages), keygen=tuple(keygen))


@dataclass(frozen=True)
class QueuedInstall:
    """A package on its way to an agent."""

    deployment_id: int
    agent_id: int
    sequence: int


async def queue_install(
    db: Database, vault: MasterKey, actor: Actor, dep_ref: str | int, clock: Clock
) -> QueuedInstall:
    """Seal the deployment's current certificate (and key) to its agent and queue it ("Try auto-install").

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        ConflictError: Not an agent deployment, no approved agent, or nothing to install.
    """
    actor.require_key_release("installing on an agent", "the deployment's agent")
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
    (queued,) = await queue_installs(db, vault, actor, [dep.id], clock)
    return queued


async def queue_installs(
    db: Database, vault: MasterKey, actor: Actor, dep_ids: list[int], clock: Clock
) -> list[QueuedInstall]:
    """Queue packages for many agent deployments in one transaction (all or none).

    Deployments, definitions and open work items are read in a few bulk queries, so queuing
    thousands costs little more than sealing the packages.

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: A deployment does not exist.
        ConflictError: One of them is not an agent deployment, has no approved agent, or nothing to install.
    """
    actor.require_key_release("installing on agents", "the deployments' agents")
    from certmgr.controller.db.models import CertificateDefinition

    key = await signing_key(db, vault)
    now = clock.now()
    out: list[QueuedInstall] = []
    materials: dict[int, Any] = {}
    wanted = list(dict.fromkeys(dep_ids))
    async with db.transaction() as s:
        agents = {a.id: a for a in (await s.execute(select(Agent))).scalars().all()}
        deps: dict[int, Deployment] = {}
        defs: dict[int, CertificateDefinition] = {}
        open_work: dict[int, list[AgentWork]] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            for dep in (
                await s.execute(select(Deployment).where(Deployment.id.in_(chunk)))
            ).scalars():
                deps[dep.id] = dep
            for w in (
                await s.execute(
                    select(AgentWork).where(
                        AgentWork.deployment_id.in_(chunk),
                        AgentWork.state.in_(["queued", "delivered"]),
                    )
                )
            ).scalars():
                open_work.setdefault(w.deployment_id or 0, []).append(w)
        def_ids = list({d.definition_id for d in deps.values()})
        for i in range(0, len(def_ids), 500):
            for d in (
                await s.execute(
                    select(CertificateDefinition).where(
                        CertificateDefinition.id.in_(def_ids[i : i + 500])
                    )
                )
            ).scalars():
                defs[d.id] = d
        for dep_id in wanted:
            if dep_id not in deps:
                raise NotFoundError(f"no deployment {dep_id}")
            dep = deps[dep_id]
            d = defs[dep.definition_id]
            if dep.delivery != "agent" or dep.agent_id is None:
                raise ConflictError(
                    f"deployment {dep.id} is not delivered by an agent (choose one on the deployment)"
                )
            agent = agents.get(dep.agent_id)
            if agent is None or agent.status != "approved":
                raise ConflictError(f"agent {dep.agent_id} is not enrolled and approved")
            sw = SOFTWARE[dep.target_type]
            if sw.target_type is None:
                raise ConflictError(f"{sw.label} has no agent install target")
            if d.id not in materials:
                materials[d.id] = await current_material(s, vault, d)
            m = materials[d.id]
            sequence = dep.sequence + 1
            manifest = Manifest(
                deployment_id=dep.id,
                sequence=sequence,
                target_type=sw.target_type,
                target_params=dict(dep.target_params),
                created_at=now,
                expires_at=now + PACKAGE_LIFETIME,
                controller_key_id=key_id(key.verify_key),
                certificate_pem=pem_bundle([m.certificate]),
                chain_pem=pem_bundle(list(m.chain)) if m.chain else b"",
                private_key_pkcs8=private_key_to_pkcs8_der(m.key) if m.key is not None else None,
            )
            blob = seal_for_agent(manifest, key, nacl.public.PublicKey(agent.x25519_public))
            for old in open_work.get(dep.id, []):
                old.state = "superseded"  # older packages for this deployment
            s.add(
                AgentWork(
                    agent_id=agent.id,
                    kind="package",
                    deployment_id=dep.id,
                    sequence=sequence,
                    blob=blob,
                    spec={},
                    state="queued",
                    created_at=now,
                )
            )
            dep.sequence = sequence
            dep.certificate_id = m.row.id
            move(
                s,
                dep,
                actor,
                DeploymentStatus.INSTALL_REQUESTED,
                f"package {sequence} queued for agent {agent.name}",
                clock,
                {"agent": agent.id, "sequence": sequence},
            )
            out.append(QueuedInstall(dep.id, agent.id, sequence))
    return out


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


async def record_report(
    db: Database, agent: Agent, report: p.Report, clock: Clock
) -> Deployment | None:
    """Apply an install report: the work item is done, the deployment moves to ``installed`` (or records the refusal)."""
    actor = agent_actor(agent)
    async with db.transaction() as s:
        work = (
            (
                await s.execute(
                    select(AgentWork).where(
                        AgentWork.agent_id == agent.id,
                        AgentWork.deployment_id == report.deployment_id,
                        AgentWork.sequence == report.sequence,
                        AgentWork.kind == "package",
                        AgentWork.state.in_(OPEN_WORK),
                    )
                )
            )
            .scalars()
            .first()
        )
        # what the agent holds is news whatever the report is about (checked by the caller)
        _store_inventory(await s.get(Agent, agent.id), report.inventory)
        if work is None:
            return None
        work.state = "done" if report.ok else "failed"
        work.done_at = clock.now()
        dep = await s.get(Deployment, report.deployment_id)
        if dep is None or dep.agent_id != agent.id:
            return None
        if report.ok:
            if dep.sequence == report.sequence and dep.status in (
                DeploymentStatus.INSTALL_REQUESTED.value,
                DeploymentStatus.CHECK_FAILED.value,
                DeploymentStatus.PREPARED.value,
            ):
                move(
                    s,
                    dep,
                    actor,
                    DeploymentStatus.INSTALLED,
                    f"agent {agent.name} installed SHA-256 {report.installed_sha256} into {report.target or 'its target'}",
                    clock,
                    {"sequence": report.sequence},
                )
        else:
            add_event(
                s,
                dep,
                actor,
                "install-failed",
                f"agent {agent.name} refused or failed ({report.error_kind}): {report.error}",
                clock,
                {"sequence": report.sequence, "error_kind": report.error_kind},
            )
            audit(
                s,
                actor,
                "deployment.install-failed",
                "deployment",
                dep.id,
                {"error_kind": report.error_kind},
                clock=clock,
            )
        return dep


def _store_inventory(agent: Agent | None, targets: tuple[p.TargetReport, ...]) -> None:
    if agent is not None and targets:
        agent.targets = [t.to_json() for t in targets]


async def record_inventory(
    db: Database, agent: Agent, upload: p.InventoryUpload, clock: Clock
) -> int:
    """Store the agent's targets and compare them with its deployments (``agent-mismatch`` findings).

    Returns:
        How many alerts were queued.
    """
    async with db.transaction() as s:
        row = await s.get(Agent, agent.id)
        if row is None:
            return 0
        row.version = upload.agent_version[:50]
        _store_inventory(row, upload.targets)
    return await check_inventory(db, agent.id, upload.targets, clock)


async def check_inventory(
    db: Database, agent_id: int, targets: tuple[p.TargetReport, ...], clock: Clock
) -> int:
    """Raise or clear ``agent-mismatch`` for the agent's settled deployments from what its targets hold."""
    from certmgr.controller.db.models import Certificate, Finding
    from certmgr.controller.services.monitoring.findings import (
        AGENT_MISMATCH,
        record_agent_inventory,
    )
    from certmgr.controller.services.notification.alerts import alert_changes
    from certmgr.shared.pki.fingerprint import normalize_fingerprint

    settled = {
        DeploymentStatus.INSTALLED.value,
        DeploymentStatus.CONFIRMED.value,
        DeploymentStatus.MANUALLY_CONFIRMED.value,
        DeploymentStatus.COMPLETED_UNCHECKED.value,
        # installed but the served certificate could not be confirmed: what the agent holds still matters
        DeploymentStatus.CHECK_FAILED.value,
    }
    async with db.reader() as s:
        deps = list(
            (
                await s.execute(
                    select(Deployment).where(
                        Deployment.agent_id == agent_id, Deployment.delivery == "agent"
                    )
                )
            )
            .scalars()
            .all()
        )
        # what tells whether anything changes, in two queries: most reports change nothing
        keys = [f"{AGENT_MISMATCH}:{d.id}" for d in deps]
        open_keys = set(
            (
                await s.execute(
                    select(Finding.key).where(
                        Finding.kind == AGENT_MISMATCH,
                        Finding.state == "open",
                        Finding.key.in_(keys),
                    )
                )
            ).scalars()
        )
        sent_ids = {d.certificate_id for d in deps if d.certificate_id is not None}
        sent = {
            cid: sha
            for cid, sha in await s.execute(
                select(Certificate.id, Certificate.sha256).where(Certificate.id.in_(sent_ids))
            )
        }
    queued = 0
    for dep in deps:
        label = str(dep.target_params.get(p.TARGET_LABEL_PARAM, ""))
        sw = SOFTWARE.get(dep.target_type)
        candidates = [
            t
            for t in targets
            if (t.name == label if label else sw is not None and t.type == sw.target_type)
        ]
        installed: list[str] | None = None  # nothing to compare: clears an old mismatch
        if dep.status in settled and len(candidates) == 1 and candidates[0].availability == "ready":
            installed = [normalize_fingerprint(i.sha256) for i in candidates[0].installed]
        if f"{AGENT_MISMATCH}:{dep.id}" not in open_keys and (
            installed is None or sent.get(dep.certificate_id or 0) in installed
        ):
            continue  # nothing open, and nothing to open
        changes = await record_agent_inventory(db, dep.id, installed, clock)
        queued += await alert_changes(db, clock, changes)
    return queued


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


async def list_agents(s: AsyncSession) -> list[Agent]:
    """Every agent."""
    return list((await s.execute(select(Agent).order_by(Agent.id))).scalars().all())


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
        for w in (
            await s.execute(
                select(AgentWork).where(
                    AgentWork.agent_id == agent.id,
                    AgentWork.request_id == request_id,
                    AgentWork.kind == "keygen",
                    AgentWork.state.in_(OPEN_WORK),
                )
            )
        ).scalars():
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
) -> Any:
    """Start a request whose key the agent makes (the CSR comes back through the agent API).

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: No such definition or agent.
        ConflictError: The agent is not approved, or the definition has an open request.
    """
    actor.require_key_release("having an agent make the key", f"agent {agent_id}")
    from certmgr.controller.services.acquisition.definitions import find_definition
    from certmgr.controller.services.acquisition.requests import start_request
    from certmgr.controller.services.agents.wakeups import wakeups_for

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


@dataclass(frozen=True)
class AutoInstall:
    """What sending a new current certificate to a definition's agents did."""

    queued: list[QueuedInstall]
    failed: list[tuple[int, str]]  # deployment id, why it was not queued


async def auto_install_after_switch(
    db: Database, vault: MasterKey, actor: Actor, definition_id: int, clock: Clock
) -> AutoInstall:
    """After a new current certificate: send it to every agent deployment of the definition (when it allows).

    One deployment that cannot take it (its agent revoked meanwhile, a state that cannot move) does
    not hold back the others: it is named in ``failed``.
    """
    from certmgr.controller.db.models import CertificateDefinition
    from certmgr.controller.services.agents.wakeups import wakeups_for

    async with db.reader() as s:
        d = await s.get(CertificateDefinition, definition_id)
        if d is None or not d.auto_deploy:
            return AutoInstall([], [])
        rows = (
            await s.execute(
                select(Deployment.id, Deployment.target_type)
                .join(Agent, Agent.id == Deployment.agent_id)
                .where(
                    Deployment.definition_id == definition_id,
                    Deployment.delivery == "agent",
                    Agent.status == "approved",
                )
            )
        ).all()
    dep_ids = [
        dep_id
        for dep_id, software in rows
        if (sw := SOFTWARE.get(software)) is not None and sw.target_type is not None
    ]
    failed: list[tuple[int, str]] = []
    try:
        queued = await queue_installs(db, vault, actor, dep_ids, clock) if dep_ids else []
    except CertmgrError:
        queued = []
        for dep_id in dep_ids:  # the batch is all or none: find which ones can go
            try:
                queued += await queue_installs(db, vault, actor, [dep_id], clock)
            except CertmgrError as err:
                failed.append((dep_id, str(err)))
    wake = wakeups_for(db)
    for agent_id in {q.agent_id for q in queued}:
        await wake.notify(str(agent_id))
    return AutoInstall(queued, failed)
