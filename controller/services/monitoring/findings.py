"""Findings: what needs action, opened when it appears and cleared when it goes away.

:func:`refresh_findings` derives the wanted set of open findings from the database as it is now
(the last check of every monitored deployment in service, the current certificate of every
definition, the open requests) and reconciles it with the stored rows: a new key opens a finding,
a key that is gone clears it, a key that stays only has its message refreshed. Only state changes
are returned (and alerted), so a finding is never repeated. Each finding is keyed by kind and
subject (``mismatch:12``, ``expiring:def:3``); the agent reports its inventory through
:func:`record_agent_inventory`, which manages ``agent-mismatch:<deployment>`` the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    CheckResult,
    Deployment,
    Finding,
)
from certmgr.controller.domain.actors import SYSTEM, Actor
from certmgr.controller.domain.renewal import renewal_due_at
from certmgr.controller.domain.states import ONGOING_REQUEST, DeploymentStatus
from certmgr.controller.services.audit import audit
from certmgr.controller.services.monitoring.config import MonitorConfig
from certmgr.shared.clock import Clock
from certmgr.shared.errors import NotFoundError
from certmgr.shared.pki.fingerprint import normalize_fingerprint

MANAGED_KINDS = (
    "mismatch",
    "chain",
    "expiring",
    "expired",
    "not-yet-valid",
    "unreachable",
    "renewal-failed",
    "renewal-overdue",
)
AGENT_MISMATCH = "agent-mismatch"
WATCHED_STATES = frozenset(
    {
        DeploymentStatus.CONFIRMED.value,
        DeploymentStatus.MANUALLY_CONFIRMED.value,
        DeploymentStatus.COMPLETED_UNCHECKED.value,
        DeploymentStatus.CHECK_FAILED.value,
    }
)


@dataclass(frozen=True)
class FindingSpec:
    """A finding that should be open."""

    key: str
    kind: str
    severity: str
    message: str
    definition_id: int | None = None
    deployment_id: int | None = None


@dataclass
class FindingChanges:
    """Findings opened and cleared by one reconciliation."""

    opened: list[Finding] = field(default_factory=list)
    cleared: list[Finding] = field(default_factory=list)

    def __bool__(self) -> bool:
        """True when anything changed."""
        return bool(self.opened or self.cleared)

    def extend(self, other: FindingChanges) -> None:
        """Add another reconciliation's changes."""
        self.opened += other.opened
        self.cleared += other.cleared


def _endpoint(dep: Deployment) -> str:
    host = f"[{dep.check_host}]" if ":" in dep.check_host else dep.check_host
    return f"{dep.server_name} ({host}:{dep.check_port})"


def deployment_findings(
    dep: Deployment, d: CertificateDefinition, last: CheckResult | None, cfg: MonitorConfig
) -> list[FindingSpec]:
    """The findings one deployment's last check calls for (pure)."""
    if last is None:
        return []
    out: list[FindingSpec] = []
    where = _endpoint(dep)

    def add(kind: str, severity: str, message: str, suffix: str = "") -> None:
        out.append(FindingSpec(f"{kind}:{suffix}{dep.id}", kind, severity, message, d.id, dep.id))

    if not last.reachable:
        if dep.consecutive_failures >= cfg.unreachable_after:
            add(
                "unreachable",
                "warning",
                f"{where} could not be reached in {dep.consecutive_failures} checks in a row: {last.error}",
            )
        return out
    if not last.served_sha256:
        add("unreachable", "warning", f"{where} answers, but TLS fails: {last.error}")
        return out
    waiting = bool(last.detail.get("serves_assigned"))
    if waiting and last.days_left is not None and 0 <= last.days_left <= cfg.expiring_days:
        add(
            "expiring",
            "warning",
            f"{where} still serves the certificate it was given before the renewal of {d.name}; "
            f"it expires in {last.days_left} days: deploy the current one",
            "dep:",
        )
    if not last.matches_current and not waiting:
        add(
            "mismatch",
            "critical" if dep.production else "warning",
            f"{where} serves another certificate than the current one of {d.name} "
            f"(served SHA-256 {last.served_sha256[:16]}…)",
        )
    if not last.chain_complete or not last.chain_in_order:
        missing = last.detail.get("missing_intermediates") or []
        text = (
            "intermediate " + ", ".join(str(m) for m in missing) + " not served"
            if missing
            else "the chain is out of order or carries foreign certificates"
        )
        add("chain", "warning", f"{where}: {text}")
    if last.days_left is not None and last.days_left < 0:
        add(
            "expired",
            "critical",
            f"{where} serves a certificate that expired {-last.days_left} day(s) ago",
            "dep:",
        )
    return out


def certificate_findings(
    d: CertificateDefinition,
    not_before: dt.datetime,
    not_after: dt.datetime,
    now: dt.datetime,
    cfg: MonitorConfig,
) -> list[FindingSpec]:
    """Expired, not valid yet, expiring and renewal-overdue for a definition's current certificate (pure).

    Expiring means both thresholds are reached: at most ``expiring_days`` days and at most
    ``expiring_fraction`` of the lifetime left, so a 47-day certificate does not nag for most of
    its life while a one-year one still warns a month ahead.
    """
    left = not_after - now
    if left.total_seconds() <= 0:
        return [
            FindingSpec(
                f"expired:def:{d.id}",
                "expired",
                "critical",
                f"the current certificate of {d.name} expired on {not_after:%Y-%m-%d %H:%M} UTC",
                d.id,
            )
        ]
    if not_before > now:
        return [
            FindingSpec(
                f"not-yet-valid:def:{d.id}",
                "not-yet-valid",
                "critical",
                f"the current certificate of {d.name} is not valid before "
                f"{not_before:%Y-%m-%d %H:%M} UTC: clients refuse it until then",
                d.id,
            )
        ]
    out: list[FindingSpec] = []
    lifetime = not_after - not_before
    if left <= dt.timedelta(days=cfg.expiring_days) and left <= lifetime * cfg.expiring_fraction:
        out.append(
            FindingSpec(
                f"expiring:def:{d.id}",
                "expiring",
                "warning",
                f"the current certificate of {d.name} expires on {not_after:%Y-%m-%d} "
                f"({int(left.total_seconds() // 86400)} days left)",
                d.id,
            )
        )
    due = renewal_due_at(not_before, not_after, d.renewal_policy, seed=str(d.id))
    if now >= due + (not_after - due) / 2:
        out.append(
            FindingSpec(
                f"renewal-overdue:{d.id}",
                "renewal-overdue",
                "warning",
                f"renewal of {d.name} was due on {due:%Y-%m-%d} and has not happened; "
                f"the certificate expires on {not_after:%Y-%m-%d}",
                d.id,
            )
        )
    return out


def request_findings(d: CertificateDefinition, req: CertificateRequest) -> list[FindingSpec]:
    """renewal-failed for an open request whose last attempt failed (pure)."""
    if req.attempts <= 0 or not req.last_error:
        return []
    retry = (
        f"; next attempt {req.next_attempt_at:%Y-%m-%d %H:%M} UTC" if req.next_attempt_at else ""
    )
    return [
        FindingSpec(
            f"renewal-failed:{d.id}",
            "renewal-failed",
            "warning",
            f"request #{req.id} for {d.name} failed {req.attempts} time(s): {req.last_error[:500]}{retry}",
            d.id,
        )
    ]


async def wanted_findings(
    db: Database,
    now: dt.datetime,
    cfg: MonitorConfig,
    *,
    definition_ids: Sequence[int] | None = None,
) -> list[FindingSpec]:
    """Every finding the database calls for now (a fixed number of queries), or those of some definitions."""
    out: list[FindingSpec] = []
    only = (
        [CertificateDefinition.id.in_(list(definition_ids))] if definition_ids is not None else []
    )
    async with db.reader() as s:
        rows = await s.execute(
            select(Deployment, CertificateDefinition, CheckResult)
            .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
            .outerjoin(CheckResult, CheckResult.id == Deployment.last_check_id)
            .where(
                Deployment.monitoring.is_(True),
                Deployment.status.in_(sorted(WATCHED_STATES)),
                CertificateDefinition.archived.is_(False),
                *only,
            )
        )
        for dep, d, last in rows:
            out += deployment_findings(dep, d, last, cfg)
        certs = await s.execute(
            select(CertificateDefinition, Certificate.not_before, Certificate.not_after)
            .join(Certificate, Certificate.id == CertificateDefinition.current_certificate_id)
            .where(CertificateDefinition.archived.is_(False), *only)
        )
        for d, nb, na in certs:
            out += certificate_findings(d, nb, na, now, cfg)
        reqs = await s.execute(
            select(CertificateDefinition, CertificateRequest)
            .join(CertificateRequest, CertificateRequest.definition_id == CertificateDefinition.id)
            .where(
                CertificateDefinition.archived.is_(False),
                CertificateRequest.status.in_([x.value for x in ONGOING_REQUEST]),
                CertificateRequest.attempts > 0,
                *only,
            )
        )
        for d, req in reqs:
            out += request_findings(d, req)
    return out


async def reconcile(
    db: Database,
    wanted: Iterable[FindingSpec],
    clock: Clock,
    *,
    kinds: Sequence[str] = MANAGED_KINDS,
    keys: Sequence[str] | None = None,
    definition_ids: Sequence[int] | None = None,
    actor: Actor = SYSTEM,
) -> FindingChanges:
    """Open what is wanted and not open, clear what is open and not wanted (of ``kinds``/``keys``/definitions)."""
    want = {f.key: f for f in wanted}
    now = clock.now()
    changes = FindingChanges()
    async with db.transaction() as s:
        stmt = select(Finding).where(Finding.state == "open")
        stmt = stmt.where(Finding.key.in_(keys)) if keys is not None else stmt
        if definition_ids is not None:
            stmt = stmt.where(Finding.definition_id.in_(list(definition_ids)))
        stmt = stmt.where(Finding.kind.in_(list(kinds)))
        open_rows = {f.key: f for f in (await s.execute(stmt)).scalars()}
        for key, row in open_rows.items():
            spec = want.get(key)
            if spec is None:
                row.state, row.cleared_at, row.digested_clear = "cleared", now, False
                changes.cleared.append(row)
                audit(s, actor, "finding.clear", "finding", row.id, {"key": key}, clock=clock)
            elif (row.message, row.severity) != (spec.message, spec.severity):
                row.message, row.severity = spec.message[:4000], spec.severity
        for key, spec in want.items():
            if key in open_rows:
                continue
            row = Finding(
                kind=spec.kind,
                key=key,
                definition_id=spec.definition_id,
                deployment_id=spec.deployment_id,
                severity=spec.severity,
                message=spec.message[:4000],
                state="open",
                opened_at=now,
            )
            s.add(row)
            changes.opened.append(row)
        await s.flush()
        for row in changes.opened:
            audit(
                s,
                actor,
                "finding.open",
                "finding",
                row.id,
                {"key": row.key, "severity": row.severity},
                clock=clock,
            )
    return changes


async def refresh_findings(
    db: Database, clock: Clock, cfg: MonitorConfig, *, definition_ids: Sequence[int] | None = None
) -> FindingChanges:
    """Bring the managed findings (all, or those of some definitions) up to date; returns the state changes.

    With ``definition_ids`` only those definitions are judged, at once: an imported, received
    or switched certificate has its findings now, not at the next scheduled run.
    """
    wanted = await wanted_findings(db, clock.now(), cfg, definition_ids=definition_ids)
    return await reconcile(db, wanted, clock, definition_ids=definition_ids)


async def record_agent_inventory(
    db: Database, deployment_id: int, installed_sha256: Sequence[str] | None, clock: Clock
) -> FindingChanges:
    """Open or clear ``agent-mismatch`` after an agent reported what is installed on a deployment.

    The agent should hold the certificate last sent to the deployment (a renewal not yet sent
    is not the agent's fault: monitoring reports the server as outdated). ``None`` means there
    is nothing to compare now (install under way, target unavailable): any mismatch is cleared.
    Pass the changes to :func:`certmgr.controller.services.notification.alerts.alert_changes` to alert on them.

    Raises:
        NotFoundError: No such deployment.
    """
    key = f"{AGENT_MISMATCH}:{deployment_id}"
    wanted: list[FindingSpec] = []
    if installed_sha256 is not None:
        async with db.reader() as s:
            dep = await s.get(Deployment, deployment_id)
            if dep is None:
                raise NotFoundError(f"no deployment {deployment_id}")
            d = await s.get(CertificateDefinition, dep.definition_id)
            assert d is not None  # noqa: S101 - FK
            cid = dep.certificate_id or d.current_certificate_id
            cert = await s.get(Certificate, cid) if cid else None
        installed = {normalize_fingerprint(x) for x in installed_sha256}
        if cert is not None and cert.sha256 not in installed:
            wanted.append(
                FindingSpec(
                    key,
                    AGENT_MISMATCH,
                    "critical" if dep.production else "warning",
                    f"the agent on {dep.server_name} reports another certificate installed than "
                    f"the one certmgr sent for {d.name} ({cert.sha256[:16]}…)",
                    d.id,
                    dep.id,
                )
            )
    return await reconcile(db, wanted, clock, kinds=(AGENT_MISMATCH,), keys=[key])
