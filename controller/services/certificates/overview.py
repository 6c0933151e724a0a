"""Read models for the console and API lists (a fixed number of queries per page, no N+1)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    Deployment,
)
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains
from certmgr.controller.db.queries.definitions import deployment_states, newest_request_status
from certmgr.controller.domain.state_labels import acquisition_badge
from certmgr.controller.domain.status import (
    Badge,
    days_left,
    deployments_badge,
    expiry_badge,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class DefinitionRow:
    """A row of the Certificate Definitions screen."""

    id: int
    name: str
    common_name: str
    issuer_kind: str
    not_after: dt.datetime | None
    days_left: int | None
    current_sha256: str | None
    expiry: Badge
    acquisition: Badge
    deployments: Badge
    deployment_states: dict[str, int] = field(default_factory=dict)
    acquisition_state: str | None = None
    """The newest request's state code (the API's ``acquisition_status``; screens show words)."""

    def to_json(self) -> dict[str, Any]:
        """JSON for the API."""
        return {
            "id": self.id,
            "name": self.name,
            "common_name": self.common_name,
            "issuer": self.issuer_kind,
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "days_left": self.days_left,
            "current_sha256": self.current_sha256,
            "expiry_status": self.expiry.tone,
            "acquisition_status": self.acquisition_state
            if self.acquisition_state not in (None, "cancelled")
            else None,
            "deployments": self.deployment_states,
            "deployment_status": self.deployments.tone,
        }


DEFINITION_SORTS = {
    "name": CertificateDefinition.name,
    "common_name": CertificateDefinition.common_name,
    "issuer": CertificateDefinition.issuer_kind,
    "expires": Certificate.not_after,
    "id": CertificateDefinition.id,
}
EXPIRY_FILTERS = ("expired", "expiring", "valid", "not-yet-valid", "none")


def _definitions_query(
    q: str, issuer: str, expiry: str, now: dt.datetime, *, archived: bool = False
) -> Select[CertificateDefinition, dt.datetime, dt.datetime, str]:
    stmt = select(
        CertificateDefinition, Certificate.not_before, Certificate.not_after, Certificate.sha256
    ).outerjoin(Certificate, Certificate.id == CertificateDefinition.current_certificate_id)
    stmt = stmt.where(CertificateDefinition.archived.is_(archived))
    if q:
        like = contains(q)
        stmt = stmt.where(
            or_(
                CertificateDefinition.name.ilike(like, escape=LIKE_ESCAPE),
                CertificateDefinition.common_name.ilike(like, escape=LIKE_ESCAPE),
                Certificate.sha256.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    if issuer:
        stmt = stmt.where(CertificateDefinition.issuer_kind == issuer)
    soon = now + dt.timedelta(days=30)
    if expiry == "expired":
        stmt = stmt.where(Certificate.not_after <= now)
    elif expiry == "expiring":
        stmt = stmt.where(
            and_(Certificate.not_before <= now, Certificate.not_after > now),
            Certificate.not_after <= soon,
        )
    elif expiry == "valid":
        stmt = stmt.where(Certificate.not_before <= now, Certificate.not_after > soon)
    elif expiry == "not-yet-valid":
        stmt = stmt.where(Certificate.not_before > now, Certificate.not_after > now)
    elif expiry == "none":
        stmt = stmt.where(CertificateDefinition.current_certificate_id.is_(None))
    return stmt


async def definitions_page(
    db: Database,
    *,
    now: dt.datetime,
    q: str = "",
    issuer: str = "",
    expiry: str = "",
    sort: str = "name",
    desc: bool = False,
    page: int = 1,
    per_page: int = 50,
    after_id: int | None = None,
    archived: bool = False,
) -> Page[DefinitionRow]:
    """One page of definitions with their status badges, in three queries (plus a count).

    Archived definitions are left out, or (``archived``) only they are listed.

    With ``after_id`` the page is the next ``per_page`` rows by id (keyset paging for the API).
    """
    base = _definitions_query(
        q, issuer, expiry if expiry in EXPIRY_FILTERS else "", now, archived=archived
    )
    if after_id is not None:
        base = base.where(CertificateDefinition.id > after_id)
        sort, desc, page = "id", False, 1
    col = DEFINITION_SORTS.get(sort, CertificateDefinition.name)
    order = [col.desc().nulls_last() if desc else col.asc().nulls_last(), CertificateDefinition.id]
    async with db.reader() as s:
        total = int(
            (
                await s.execute(select(func.count()).select_from(base.order_by(None).subquery()))
            ).scalar_one()
        )
        rows = (
            await s.execute(base.order_by(*order).limit(per_page).offset((page - 1) * per_page))
        ).all()
        ids = [r[0].id for r in rows]
        req_status = await newest_request_status(s, ids)
        dep_states, outdated = await deployment_states(s, ids)
    items = [
        DefinitionRow(
            id=d.id,
            name=d.name,
            common_name=d.common_name,
            issuer_kind=d.issuer_kind,
            not_after=not_after,
            days_left=days_left(not_after, now),
            current_sha256=sha,
            expiry=expiry_badge(not_before, not_after, now),
            acquisition=acquisition_badge(req_status.get(d.id)),
            deployments=deployments_badge(dep_states.get(d.id, {}), outdated.get(d.id, 0)),
            deployment_states=dep_states.get(d.id, {}),
            acquisition_state=req_status.get(d.id),
        )
        for d, not_before, not_after, sha in rows
    ]
    return Page(items, total, page, per_page)


@dataclass(frozen=True)
class DashboardCounts:
    """Counts for the dashboard tiles and the expiry timeline."""

    definitions: int
    expired: int
    expiring: int
    valid: int
    without_certificate: int
    open_requests: int
    deployments_by_status: dict[str, int]
    weekly_expiries: list[int]  # next 29 weeks (about 200 days)
    not_yet_valid: int = 0  # current certificates whose validity has not begun (not "valid")


async def dashboard_counts(db: Database, now: dt.datetime) -> DashboardCounts:
    """Aggregates over every definition, certificate, request and deployment."""
    soon = now + dt.timedelta(days=30)
    async with db.reader() as s:
        cur = (
            select(Certificate.not_before, Certificate.not_after)
            .join(
                CertificateDefinition,
                CertificateDefinition.current_certificate_id == Certificate.id,
            )
            .where(CertificateDefinition.archived.is_(False))
        )
        total = int(
            (
                await s.execute(
                    select(func.count(CertificateDefinition.id)).where(
                        CertificateDefinition.archived.is_(False)
                    )
                )
            ).scalar_one()
        )
        spans = [(b, a) for b, a in (await s.execute(cur)).all()]
        afters = [a for _, a in spans]
        open_requests = int(
            (
                await s.execute(
                    select(func.count(CertificateRequest.id)).where(
                        CertificateRequest.status.not_in(["done", "cancelled"])
                    )
                )
            ).scalar_one()
        )
        deps = dict(
            (
                await s.execute(
                    select(Deployment.status, func.count(Deployment.id)).group_by(Deployment.status)
                )
            ).all()
        )
    expired = sum(1 for a in afters if a <= now)
    early = sum(1 for b, a in spans if b > now < a)
    expiring = sum(1 for b, a in spans if now < a <= soon and b <= now)
    weeks = [0] * 29
    for a in afters:
        if a > now:
            w = int((a - now).total_seconds() // (7 * 86400))
            if w < len(weeks):
                weeks[w] += 1
    return DashboardCounts(
        definitions=total,
        expired=expired,
        expiring=expiring,
        valid=len(afters) - expired - expiring - early,
        not_yet_valid=early,
        without_certificate=total - len(afters),
        open_requests=open_requests,
        deployments_by_status={str(k): int(v) for k, v in deps.items()},
        weekly_expiries=weeks,
    )
