"""Read models of the daily screens: renewals due, ongoing acquisitions, deployments waiting, "today"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    CheckResult,
    Deployment,
    Finding,
    OutboxMessage,
    RequestEvent,
)
from certmgr.controller.domain.renewal import renewal_due_at
from certmgr.controller.domain.states import FINISHED_DEPLOYMENT, ONGOING_REQUEST, DeploymentStatus

AUTOMATIC_ISSUERS = frozenset({"private-ca", "acme"})


@dataclass(frozen=True)
class DueRenewal:
    """A definition whose current certificate is due for renewal."""

    definition_id: int
    name: str
    issuer_kind: str
    not_after: dt.datetime
    due_at: dt.datetime
    request_id: int | None = None
    request_status: str | None = None

    @property
    def automatic(self) -> bool:
        """Renewed by the renewal job (private CA, ACME)."""
        return self.issuer_kind in AUTOMATIC_ISSUERS


async def renewals_due(
    db: Database, now: dt.datetime, *, horizon: dt.timedelta = dt.timedelta(0)
) -> list[DueRenewal]:
    """Definitions due for renewal by ``now + horizon``, soonest expiry first, with any open request."""
    async with db.reader() as s:
        rows = await s.execute(
            select(CertificateDefinition, Certificate.not_before, Certificate.not_after)
            .join(Certificate, Certificate.id == CertificateDefinition.current_certificate_id)
            .where(CertificateDefinition.archived.is_(False))
        )
        due = []
        for d, nb, na in rows:
            at = renewal_due_at(nb, na, d.renewal_policy, seed=str(d.id))
            if at <= now + horizon:
                due.append((d, na, at))
        open_reqs: dict[int, CertificateRequest] = {}
        ids = [d.id for d, _, _ in due]
        for i in range(0, len(ids), 500):
            for req in (
                await s.execute(
                    select(CertificateRequest)
                    .where(
                        CertificateRequest.definition_id.in_(ids[i : i + 500]),
                        CertificateRequest.status.in_([x.value for x in ONGOING_REQUEST]),
                    )
                    .order_by(CertificateRequest.id)
                )
            ).scalars():
                open_reqs[req.definition_id] = req
    out = [
        DueRenewal(
            d.id,
            d.name,
            d.issuer_kind,
            na,
            at,
            open_reqs[d.id].id if d.id in open_reqs else None,
            open_reqs[d.id].status if d.id in open_reqs else None,
        )
        for d, na, at in due
    ]
    return sorted(out, key=lambda r: (r.not_after, r.definition_id))


@dataclass(frozen=True)
class OngoingRequest:
    """An acquisition in progress, with its age and last event."""

    id: int
    definition_id: int
    definition: str
    kind: str
    status: str
    issuer_kind: str
    created_at: dt.datetime
    age_days: int
    attempts: int
    last_error: str
    next_attempt_at: dt.datetime | None
    last_event_at: dt.datetime | None
    last_event: str
    last_message: str


async def ongoing_requests(db: Database, now: dt.datetime) -> list[OngoingRequest]:
    """Every open request, oldest first, with its newest history event (three queries)."""
    async with db.reader() as s:
        rows = (
            await s.execute(
                select(CertificateRequest, CertificateDefinition.name)
                .join(
                    CertificateDefinition,
                    CertificateDefinition.id == CertificateRequest.definition_id,
                )
                .where(CertificateRequest.status.in_([x.value for x in ONGOING_REQUEST]))
                .order_by(CertificateRequest.created_at, CertificateRequest.id)
            )
        ).all()
        ids = [r.id for r, _ in rows]
        newest: dict[int, RequestEvent] = {}
        for i in range(0, len(ids), 500):
            last_ids = (
                select(func.max(RequestEvent.id))
                .where(RequestEvent.request_id.in_(ids[i : i + 500]))
                .group_by(RequestEvent.request_id)
            )
            for ev in (
                await s.execute(select(RequestEvent).where(RequestEvent.id.in_(last_ids)))
            ).scalars():
                newest[ev.request_id] = ev
    return [
        OngoingRequest(
            id=r.id,
            definition_id=r.definition_id,
            definition=name,
            kind=r.kind,
            status=r.status,
            issuer_kind=r.issuer_kind,
            created_at=r.created_at,
            age_days=max(0, int((now - r.created_at).total_seconds() // 86400)),
            attempts=r.attempts,
            last_error=r.last_error,
            next_attempt_at=r.next_attempt_at,
            last_event_at=newest[r.id].at if r.id in newest else None,
            last_event=newest[r.id].event if r.id in newest else "",
            last_message=newest[r.id].message if r.id in newest else "",
        )
        for r, name in rows
    ]


@dataclass(frozen=True)
class WaitingDeployment:
    """A deployment that waits for someone: in progress, or not carrying the current certificate."""

    id: int
    definition_id: int
    definition: str
    server_name: str
    status: str
    outdated: bool
    last_check_ok: bool | None


async def deployments_waiting(db: Database) -> list[WaitingDeployment]:
    """Deployments in progress (or failing), and finished ones holding an older certificate."""
    finished = [x.value for x in FINISHED_DEPLOYMENT]
    async with db.reader() as s:
        rows = await s.execute(
            select(Deployment, CertificateDefinition, CheckResult.ok)
            .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
            .outerjoin(CheckResult, CheckResult.id == Deployment.last_check_id)
            .where(
                CertificateDefinition.archived.is_(False),
                Deployment.status != DeploymentStatus.RETIRED.value,  # the server is gone
            )
            .order_by(Deployment.id)
        )
        out = []
        for dep, d, ok in rows:
            # Only a deployment known to carry an older certificate waits for the new one; one
            # confirmed without a package (certificate unknown) is judged by its checks instead.
            outdated = (
                d.current_certificate_id is not None
                and dep.certificate_id is not None
                and dep.certificate_id != d.current_certificate_id
            )
            if dep.status in finished and not outdated:
                continue
            out.append(
                WaitingDeployment(dep.id, d.id, d.name, dep.server_name, dep.status, outdated, ok)
            )
    return out


@dataclass(frozen=True)
class Today:
    """The "what needs me today" section of the dashboard."""

    critical: list[Finding] = field(default_factory=list)
    warnings: int = 0
    renewals_without_request: list[DueRenewal] = field(default_factory=list)
    failed_requests: list[OngoingRequest] = field(default_factory=list)
    manual_requests: list[OngoingRequest] = field(default_factory=list)
    deployments_waiting: int = 0
    outbox_stuck: int = 0
    renewal_for: dict[int, DueRenewal] = field(default_factory=dict)
    """Renewals due of definitions already named by a critical finding (said on that line, once)."""

    @property
    def empty(self) -> bool:
        """Nothing needs anyone."""
        return not (
            self.critical
            or self.warnings
            or self.renewals_without_request
            or self.failed_requests
            or self.manual_requests
            or self.deployments_waiting
            or self.outbox_stuck
        )


def one_per_problem(findings: list[Finding]) -> list[Finding]:
    """Each problem once: a server serving the expired current certificate is that certificate's expiry.

    A definition whose current certificate expired (or is not valid yet) has one line; the
    deployments that serve that same certificate add nothing new.
    """
    bad_current = {
        f.definition_id
        for f in findings
        if f.key.startswith(("expired:def:", "not-yet-valid:def:"))
    }
    return [
        f
        for f in findings
        if not (f.kind == "expired" and f.deployment_id and f.definition_id in bad_current)
    ]


async def needs_today(db: Database, now: dt.datetime) -> Today:
    """What needs a person today.

    Open critical findings, renewals due without a request, requests that need a person,
    deployments waiting and undelivered notifications.
    """
    async with db.reader() as s:
        critical = list(
            (
                await s.execute(
                    select(Finding)
                    .where(Finding.state == "open", Finding.severity == "critical")
                    .order_by(Finding.opened_at.desc())
                    .limit(20)
                )
            ).scalars()
        )
        warnings = int(
            (
                await s.execute(
                    select(func.count(Finding.id)).where(
                        Finding.state == "open", Finding.severity != "critical"
                    )
                )
            ).scalar_one()
        )
        stuck = int(
            (
                await s.execute(
                    select(func.count(OutboxMessage.id)).where(
                        (OutboxMessage.state == "failed")
                        | ((OutboxMessage.state == "pending") & (OutboxMessage.attempts > 0))
                    )
                )
            ).scalar_one()
        )
    due = await renewals_due(db, now)
    requests = await ongoing_requests(db, now)
    critical = one_per_problem(critical)
    named = {f.definition_id for f in critical if f.definition_id is not None}
    unstarted = [r for r in due if r.request_id is None]
    return Today(
        critical=critical,
        warnings=warnings,
        renewals_without_request=[r for r in unstarted if r.definition_id not in named],
        renewal_for={r.definition_id: r for r in unstarted if r.definition_id in named},
        failed_requests=[r for r in requests if r.attempts > 0 and r.last_error],
        manual_requests=[
            r
            for r in requests
            if r.issuer_kind not in AUTOMATIC_ISSUERS and r.status in ("key-and-csr", "ordered")
        ],
        deployments_waiting=len(await deployments_waiting(db)),
        outbox_stuck=stuck,
    )
