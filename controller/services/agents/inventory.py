"""What agents report: install results, the certificates their targets hold, and the agent list."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, Certificate, Deployment, Finding
from certmgr.controller.db.queries.agents import all_agents, open_work
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.agents.enrolment import SignedRequest, agent_actor
from certmgr.controller.services.audit import audit
from certmgr.controller.services.deployment.deployments import add_event, move
from certmgr.controller.services.monitoring.findings import AGENT_MISMATCH, record_agent_inventory
from certmgr.controller.services.notification.alerts import alert_changes
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock
from certmgr.shared.pki.fingerprint import normalize_fingerprint


class InstallReported(Protocol):
    """Told after commit that an agent installed a deployment's package (e.g. to check it in the background)."""

    def __call__(self, deployment_id: int, actor: Actor, how: str) -> None:
        """Follow up the install of ``deployment_id`` (``how``: by which agent, for the notification)."""


async def list_agents(db: Database) -> list[Agent]:
    """Every agent, oldest first."""
    async with db.reader() as s:
        return await all_agents(s)


async def accept_report(
    db: Database,
    agent: Agent,
    report: p.Report,
    clock: Clock,
    after_install: InstallReported,
    *,
    seen: SignedRequest | None = None,
) -> None:
    """An agent's install report: record it, compare its inventory, then follow up a successful install.

    ``after_install`` runs after the commit (the deploy check may take seconds; the agent should
    not wait for it). ``seen``: the report's request, whose nonce is recorded in the transaction
    that records the report (None: already recorded).

    Raises:
        PermissionDeniedError: ``seen``'s nonce was used before (nothing is recorded).
    """
    dep = await record_report(db, agent, report, clock, seen=seen)
    if report.inventory:
        await check_inventory(db, agent.id, report.inventory, clock)
    if dep is not None and report.ok and dep.status == DeploymentStatus.INSTALLED.value:
        after_install(
            dep.id, agent_actor(agent), f"by the certmgr agent on {agent.hostname or agent.name}"
        )


async def record_report(
    db: Database, agent: Agent, report: p.Report, clock: Clock, *, seen: SignedRequest | None = None
) -> Deployment | None:
    """Apply an install report: the work item is done, the deployment moves to ``installed`` (or records the refusal).

    Raises:
        PermissionDeniedError: ``seen``'s nonce was used before (nothing is recorded).
    """
    actor = agent_actor(agent)
    async with db.transaction() as s:
        if seen is not None:
            await seen.record(s)
        found = await open_work(
            s,
            agent_id=agent.id,
            kind="package",
            deployment_ids=[report.deployment_id],
            sequence=report.sequence,
            limit=1,
        )
        work = found[0] if found else None
        # what the agent holds is news whatever the report is about (checked by the caller)
        if report.inventory:
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
