"""The agents' work queue: install packages, and what an agent is handed when it polls.

Keys made on the agent (``keygen`` jobs) are in :mod:`.key_on_agent`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import nacl.public
import nacl.signing

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AgentWork, AuditEvent, DeploymentEvent
from certmgr.controller.db.queries._bulk import table_insert
from certmgr.controller.db.queries.agents import (
    agent_statuses,
    all_agents,
    mark_delivered,
    open_work,
)
from certmgr.controller.db.queries.deployments import definitions_by_id, deployments_by_id
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.software import SOFTWARE, check_target_params
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.agents.enrolment import SignedRequest
from certmgr.controller.services.agents.identity import signing_key
from certmgr.controller.services.certificates.material import (
    CurrentMaterial,
    MaterialRows,
    build_material,
    current_material_rows,
)
from certmgr.controller.services.deployment.deployments import (
    DEPLOYMENT_HISTORY,
    deployment_with_definition,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock
from certmgr.shared.envelope import Manifest, key_id, seal_for_agent
from certmgr.shared.errors import ConflictError, NotFoundError
from certmgr.shared.pki import pem_bundle, private_key_to_pkcs8_der

PACKAGE_LIFETIME = dt.timedelta(days=7)
MAX_ITEMS = 16
SEAL_ATTEMPTS = 3


class Wakeups(Protocol):
    """Wakes an agent's long poll (here and, on PostgreSQL, in every replica)."""

    async def notify(self, *agent_ids: str) -> None:
        """Wake the agents' waiters."""


async def pending_work(
    db: Database,
    agent: Agent,
    clock: Clock,
    *,
    woken: bool = False,
    seen: SignedRequest | None = None,
) -> p.WorkResponse:
    """Queued packages and key requests for the agent (re-sent until reported); marks them delivered.

    An idle agent's poll only reads; a write transaction is opened when something is handed over
    for the first time (and it reads again there, so the items marked are the ones answered).
    A poll ``woken`` because work was queued for it reads in the write transaction at once, and
    so does a poll whose request nonce is still to be recorded (``seen``): one transaction notes
    the nonce, reads the work and marks it delivered.

    Raises:
        PermissionDeniedError: ``seen``'s nonce was used before (nothing is handed over).
    """
    if seen is None and agent.status != "approved":
        return p.WorkResponse(revoked=agent.status == "revoked")
    if not woken and seen is None:
        async with db.reader() as s:
            rows = await open_work(s, agent_id=agent.id, limit=2 * MAX_ITEMS)
        resp, new = _work_response(rows)
        if not new:
            return resp
    async with db.transaction() as s:
        if seen is not None:
            await seen.record(s)
            if agent.status != "approved":
                return p.WorkResponse(revoked=agent.status == "revoked")
        rows = await open_work(s, agent_id=agent.id, limit=2 * MAX_ITEMS)
        resp, new = _work_response(rows)
        for w in new:
            w.state = "delivered"
            w.delivered_at = clock.now()
    return resp


async def take_work(
    db: Database, agents: Sequence[Agent], clock: Clock
) -> dict[int, p.WorkResponse]:
    """:func:`pending_work` of woken polls, for several agents in one write transaction.

    Each agent's status is read again in the transaction: one revoked while its poll waited is
    told so, and handed nothing.

    Returns:
        Each agent's answer, by agent id.
    """
    out: dict[int, p.WorkResponse] = {}
    async with db.transaction() as s:
        status = await agent_statuses(s, [a.id for a in agents])
        ids = [a.id for a in agents if status.get(a.id) == "approved"]
        for a in agents:
            if a.id not in ids:  # gone with its agent row: as revoked
                out[a.id] = p.WorkResponse(revoked=status.get(a.id, "revoked") == "revoked")
        if not ids:
            return out
        rows = await open_work(s, agent_ids=ids)
        mine: dict[int, list[AgentWork]] = {i: [] for i in ids}
        for w in rows:
            mine[w.agent_id].append(w)
        handed: list[int] = []
        for agent_id, items in mine.items():
            out[agent_id], new = _work_response(items)
            handed.extend(w.id for w in new)
        await mark_delivered(s, handed, clock.now())
    return out


class WorkPickups:
    """Polls woken by queued work take it together: one write transaction for all those waiting.

    10,000 agents woken by one "install on all" would otherwise each open a write transaction of
    their own to mark their package delivered (on SQLite, one after another). Polls that wake
    while a pickup transaction runs are served by the next one; none waits for a timer. The
    pickups use one database connection at a time, so they do not queue at the agents' gate
    behind every report and new poll (packages would then trickle out over minutes).
    """

    BATCH = 500
    """Agents served by one transaction at most."""

    def __init__(self, db: Database, clock: Clock) -> None:
        """Serve pickups from ``db``."""
        self._db, self._clock = db, clock
        self._waiting: dict[int, tuple[Agent, list[asyncio.Future[p.WorkResponse]]]] = {}
        self._runner: asyncio.Task[None] | None = None

    async def take(self, agent: Agent) -> p.WorkResponse:
        """The agent's open work, marked delivered (as :func:`pending_work` ``woken``)."""
        fut: asyncio.Future[p.WorkResponse] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(agent.id, (agent, []))[1].append(fut)
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="agent work pickups")
        return await fut

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = {i: self._waiting.pop(i) for i in list(self._waiting)[: self.BATCH]}
                await self._serve(batch)
        finally:
            self._runner = None

    async def _serve(
        self, batch: dict[int, tuple[Agent, list[asyncio.Future[p.WorkResponse]]]]
    ) -> None:
        try:
            answers = await take_work(self._db, [a for a, _ in batch.values()], self._clock)
        except Exception:  # noqa: BLE001 - each agent then on its own, so an error stays its own
            answers = {}
        for agent_id, (agent, futures) in batch.items():
            if agent_id not in answers:
                try:
                    answers.update(await take_work(self._db, [agent], self._clock))
                except Exception as err:  # noqa: BLE001 - handed to that agent's poll
                    for fut in futures:
                        if not fut.done():
                            fut.set_exception(err)
                    continue
            for fut in futures:
                if not fut.done():
                    fut.set_result(answers[agent_id])


def _work_response(rows: Sequence[AgentWork]) -> tuple[p.WorkResponse, list[AgentWork]]:
    """The answer made of open work items, and those of them never handed over before."""
    packages: list[p.WorkPackage] = []
    keygen: list[p.KeygenRequest] = []
    new: list[AgentWork] = []
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
            new.append(w)
    return p.WorkResponse(packages=tuple(packages), keygen=tuple(keygen)), new


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


@dataclass(frozen=True)
class _PlannedInstall:
    """One deployment's install as read before sealing (checked again when it is recorded)."""

    deployment_id: int
    sequence: int
    definition_id: int
    certificate_id: int
    agent_id: int
    agent_name: str
    agent_public: bytes
    target_type: str
    target_params: dict[str, Any]


async def _plan_installs(
    db: Database, wanted: list[int]
) -> tuple[list[_PlannedInstall], dict[int, MaterialRows]]:
    """Read and check what to install (one read transaction; nothing unsealed yet)."""
    plans: list[_PlannedInstall] = []
    rows: dict[int, MaterialRows] = {}
    async with db.reader() as s:
        agents = {a.id: a for a in await all_agents(s)}
        deps = await deployments_by_id(s, wanted)
        defs = await definitions_by_id(s, {d.definition_id for d in deps.values()})
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
            check_target_params(dep.target_type, dep.target_params)  # one made before the rule
            if d.id not in rows:
                rows[d.id] = await current_material_rows(s, d)
            plans.append(
                _PlannedInstall(
                    deployment_id=dep.id,
                    sequence=dep.sequence + 1,
                    definition_id=d.id,
                    certificate_id=rows[d.id].row.id,
                    agent_id=agent.id,
                    agent_name=agent.name,
                    agent_public=bytes(agent.x25519_public),
                    target_type=sw.target_type,
                    target_params=dict(dep.target_params),
                )
            )
    return plans, rows


def _seal_packages(
    plans: list[_PlannedInstall],
    rows: dict[int, MaterialRows],
    vault: MasterKey,
    key: nacl.signing.SigningKey,
    now: dt.datetime,
) -> list[bytes]:
    """Unseal each definition's key once and seal one package per deployment (runs in a thread)."""
    materials: dict[int, CurrentMaterial] = {}
    blobs: list[bytes] = []
    for plan in plans:
        if plan.definition_id not in materials:
            materials[plan.definition_id] = build_material(rows[plan.definition_id], vault)
        m = materials[plan.definition_id]
        manifest = Manifest(
            deployment_id=plan.deployment_id,
            sequence=plan.sequence,
            target_type=plan.target_type,
            target_params=plan.target_params,
            created_at=now,
            expires_at=now + PACKAGE_LIFETIME,
            controller_key_id=key_id(key.verify_key),
            certificate_pem=pem_bundle([m.certificate]),
            chain_pem=pem_bundle(list(m.chain)) if m.chain else b"",
            private_key_pkcs8=private_key_to_pkcs8_der(m.key) if m.key is not None else None,
        )
        blobs.append(seal_for_agent(manifest, key, nacl.public.PublicKey(plan.agent_public)))
    return blobs


async def queue_installs(
    db: Database, vault: MasterKey, actor: Actor, dep_ids: list[int], clock: Clock
) -> list[QueuedInstall]:
    """Queue packages for many agent deployments in one transaction (all or none).

    Three steps keep the event loop and the write transaction short: read and check in a
    few bulk queries; unseal the keys and seal the packages in a thread; then record them,
    refusing if a deployment, its agent or its definition's current certificate changed
    in between.

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: A deployment does not exist.
        ConflictError: One of them is not an agent deployment, has no approved agent, or nothing to install.
    """
    actor.require_key_release("installing on agents", "the deployments' agents")
    key = await signing_key(db, vault)
    wanted = list(dict.fromkeys(dep_ids))
    for _ in range(SEAL_ATTEMPTS):
        now = clock.now()
        plans, rows = await _plan_installs(db, wanted)
        blobs = await asyncio.to_thread(_seal_packages, plans, rows, vault, key, now)
        try:
            return await _record_installs(db, actor, plans, blobs, clock, now)
        except _ChangedMeanwhileError:
            continue  # another install or a switch came first: read and seal again
    raise ConflictError(
        "the deployments kept changing while their packages were being sealed; try again"
    )


class _ChangedMeanwhileError(Exception):
    """A planned deployment changed between reading and recording."""


async def _record_installs(
    db: Database,
    actor: Actor,
    plans: list[_PlannedInstall],
    blobs: list[bytes],
    clock: Clock,
    now: dt.datetime,
) -> list[QueuedInstall]:
    """Record sealed packages, superseding older ones (all or none).

    Raises:
        _ChangedMeanwhileError: A deployment, its agent or its definition's current certificate changed.
    """
    out: list[QueuedInstall] = []
    work: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    wanted = [p.deployment_id for p in plans]
    async with db.transaction() as s:
        deps = await deployments_by_id(s, wanted, lock=True)  # concurrent installs queue up here
        defs = await definitions_by_id(s, {p.definition_id for p in plans})
        pending: dict[int, list[AgentWork]] = {}
        for i in range(0, len(wanted), 500):
            for w in await open_work(s, deployment_ids=wanted[i : i + 500]):
                pending.setdefault(w.deployment_id or 0, []).append(w)
        for plan, blob in zip(plans, blobs, strict=True):
            dep = deps.get(plan.deployment_id)
            d = defs.get(plan.definition_id)
            if (
                dep is None
                or d is None
                or dep.sequence + 1 != plan.sequence
                or dep.agent_id != plan.agent_id
                or dep.delivery != "agent"
                or d.current_certificate_id != plan.certificate_id
            ):
                raise _ChangedMeanwhileError
            for old in pending.get(dep.id, []):
                old.state = "superseded"  # older packages for this deployment
            work.append(
                {
                    "agent_id": plan.agent_id,
                    "kind": "package",
                    "deployment_id": dep.id,
                    "sequence": plan.sequence,
                    "blob": blob,
                    "spec": {},
                    "state": "queued",
                    "created_at": now,
                }
            )
            dep.sequence = plan.sequence
            dep.certificate_id = plan.certificate_id
            event, record = DEPLOYMENT_HISTORY.move_rows(
                dep,
                actor,
                DeploymentStatus.INSTALL_REQUESTED,
                f"package {plan.sequence} queued for agent {plan.agent_name}",
                clock,
                {"agent": plan.agent_id, "sequence": plan.sequence},
            )
            events.append(event)
            records.append(record)
            out.append(QueuedInstall(dep.id, plan.agent_id, plan.sequence))
        # one executemany each: the ORM would send one INSERT per row on SQLite (it reads every
        # new id back in order), 30,000 statements for an install on 10,000 agents
        for model, rows in ((AgentWork, work), (DeploymentEvent, events), (AuditEvent, records)):
            if rows:
                await s.execute(table_insert(model), rows)
    return out


async def queue_agent_install(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    deployments: Sequence[str | int],
    clock: Clock,
    wakeups: Wakeups,
) -> list[QueuedInstall]:
    """Request an agent install ("Try auto-install"): queue the packages, then wake their agents.

    One deployment is found by its reference; many are queued in one transaction (all or none).

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: A deployment does not exist.
        ConflictError: One of them is not an agent deployment, has no approved agent, or nothing to install.
    """
    if len(deployments) == 1:
        queued = [await queue_install(db, vault, actor, deployments[0], clock)]
    else:
        queued = await queue_installs(db, vault, actor, [int(d) for d in deployments], clock)
    await wakeups.notify(*dict.fromkeys(str(q.agent_id) for q in queued))
    return queued
