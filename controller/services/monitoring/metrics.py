"""Numbers for ``/metrics``: certificate expiry, last checks, jobs, counts by state (a few queries)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    CheckResult,
    Deployment,
    Finding,
    JobLease,
    OutboxMessage,
)


@dataclass(frozen=True)
class CertificateMetric:
    """A definition's current certificate."""

    definition_id: int
    definition: str
    issuer: str
    sha256: str
    not_after: dt.datetime


@dataclass(frozen=True)
class CheckMetric:
    """A deployment's last check."""

    deployment_id: int
    definition: str
    server: str
    endpoint: str
    status: str
    ok: bool
    at: dt.datetime


@dataclass
class Metrics:
    """Everything ``/metrics`` shows."""

    now: dt.datetime
    certificates: list[CertificateMetric] = field(default_factory=list)
    checks: list[CheckMetric] = field(default_factory=list)
    jobs: list[JobLease] = field(default_factory=list)
    deployments_by_status: dict[str, int] = field(default_factory=dict)
    requests_by_status: dict[str, int] = field(default_factory=dict)
    findings_open: dict[tuple[str, str], int] = field(default_factory=dict)
    outbox_by_state: dict[str, int] = field(default_factory=dict)
    definitions: int = 0


async def collect_metrics(db: Database, now: dt.datetime) -> Metrics:
    """Read every metric (one query per family)."""
    m = Metrics(now)
    async with db.reader() as s:
        for d_id, name, issuer, sha, na in await s.execute(
            select(
                CertificateDefinition.id,
                CertificateDefinition.name,
                CertificateDefinition.issuer_kind,
                Certificate.sha256,
                Certificate.not_after,
            )
            .join(Certificate, Certificate.id == CertificateDefinition.current_certificate_id)
            .where(CertificateDefinition.archived.is_(False))
            .order_by(CertificateDefinition.id)
        ):
            m.certificates.append(CertificateMetric(d_id, name, issuer, sha, na))
        for dep, name, ok, at in await s.execute(
            select(Deployment, CertificateDefinition.name, CheckResult.ok, CheckResult.at)
            .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
            .join(CheckResult, CheckResult.id == Deployment.last_check_id)
            .order_by(Deployment.id)
        ):
            endpoint = f"{dep.check_host}:{dep.check_port}"
            m.checks.append(
                CheckMetric(dep.id, name, dep.server_name, endpoint, dep.status, ok, at)
            )
        m.jobs = list((await s.execute(select(JobLease).order_by(JobLease.name))).scalars())
        m.deployments_by_status = _counts(
            await s.execute(
                select(Deployment.status, func.count(Deployment.id)).group_by(Deployment.status)
            )
        )
        m.requests_by_status = _counts(
            await s.execute(
                select(CertificateRequest.status, func.count(CertificateRequest.id)).group_by(
                    CertificateRequest.status
                )
            )
        )
        m.outbox_by_state = _counts(
            await s.execute(
                select(OutboxMessage.state, func.count(OutboxMessage.id)).group_by(
                    OutboxMessage.state
                )
            )
        )
        for kind, sev, n in await s.execute(
            select(Finding.kind, Finding.severity, func.count(Finding.id))
            .where(Finding.state == "open")
            .group_by(Finding.kind, Finding.severity)
        ):
            m.findings_open[(kind, sev)] = int(n)
        m.definitions = int(
            (
                await s.execute(
                    select(func.count(CertificateDefinition.id)).where(
                        CertificateDefinition.archived.is_(False)
                    )
                )
            ).scalar_one()
        )
    return m


def _counts(rows: Iterable[Any]) -> dict[str, int]:
    return {str(k): int(v) for k, v in rows}
