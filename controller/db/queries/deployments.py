"""Queries of deployments and their check results."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CheckResult,
    Deployment,
)
from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains
from certmgr.controller.domain.states import FINISHED_DEPLOYMENT, DeploymentStatus


async def all_deployments(s: AsyncSession) -> list[Deployment]:
    """Every deployment, oldest first."""
    return list((await s.execute(select(Deployment).order_by(Deployment.id))).scalars().all())


_CHUNK = 500


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    uniq = list(dict.fromkeys(ids))
    return [uniq[i : i + _CHUNK] for i in range(0, len(uniq), _CHUNK)]


async def deployments_by_id(
    s: AsyncSession, ids: Iterable[int], *, lock: bool = False
) -> dict[int, Deployment]:
    """Deployments by id (missing ones left out); ``lock`` holds their rows until commit (PostgreSQL)."""
    out: dict[int, Deployment] = {}
    for part in _chunks(ids):
        query = select(Deployment).where(Deployment.id.in_(part))
        if lock:
            query = query.order_by(Deployment.id).with_for_update()
        out.update({d.id: d for d in (await s.execute(query)).scalars()})
    return out


async def definitions_by_id(
    s: AsyncSession, ids: Iterable[int]
) -> dict[int, CertificateDefinition]:
    """Certificate definitions by id (missing ones left out)."""
    out: dict[int, CertificateDefinition] = {}
    for part in _chunks(ids):
        query = select(CertificateDefinition).where(CertificateDefinition.id.in_(part))
        out.update({d.id: d for d in (await s.execute(query)).scalars()})
    return out


async def certificates_by_id(s: AsyncSession, ids: Iterable[int]) -> dict[int, Certificate]:
    """Certificates by id (missing ones left out)."""
    out: dict[int, Certificate] = {}
    for part in _chunks(ids):
        query = select(Certificate).where(Certificate.id.in_(part))
        out.update({c.id: c for c in (await s.execute(query)).scalars()})
    return out


async def check_by_id(s: AsyncSession, check_id: int | None) -> CheckResult | None:
    """A check result (None for no id or no such row)."""
    return await s.get(CheckResult, check_id) if check_id else None


async def recent_checks(s: AsyncSession, deployment_id: int, limit: int = 20) -> list[CheckResult]:
    """A deployment's latest check results, newest first."""
    return list(
        (
            await s.execute(
                select(CheckResult)
                .where(CheckResult.deployment_id == deployment_id)
                .order_by(CheckResult.at.desc(), CheckResult.id.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def deployments_named(s: AsyncSession, name: str) -> list[Deployment]:
    """Deployments with this name, oldest first (retired ones only when no other has it)."""
    rows = list(
        (await s.execute(select(Deployment).where(Deployment.name == name).order_by(Deployment.id)))
        .scalars()
        .all()
    )
    live = [d for d in rows if d.status != "retired"]
    return live or rows


# The deployment list's views: what needs a person, each a filter on the server.
DEPLOYMENT_VIEWS = ("ongoing", "outdated", "failing", "all")
DEPLOYMENT_SORTS = ("id", "definition", "server", "status", "checked")


def _view_condition(view: str) -> ColumnElement[bool] | None:
    """The WHERE of a view (None: every deployment)."""
    finished = [s.value for s in FINISHED_DEPLOYMENT]
    if view == "ongoing":
        return Deployment.status.not_in([*finished, DeploymentStatus.RETIRED.value])
    if view == "outdated":
        return and_(
            Deployment.status != DeploymentStatus.RETIRED.value,
            CertificateDefinition.current_certificate_id.is_not(None),
            or_(
                Deployment.certificate_id.is_(None),
                Deployment.certificate_id != CertificateDefinition.current_certificate_id,
            ),
        )
    if view == "failing":  # finished, but the last check failed
        return and_(Deployment.status.in_(finished), CheckResult.ok.is_(False))
    return None


def _deployments_select(
    q: str, status: str, delivery: str, view: str
) -> Select[Deployment, CertificateDefinition, CheckResult]:
    stmt = (
        select(Deployment, CertificateDefinition, CheckResult)
        .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
        .outerjoin(CheckResult, CheckResult.id == Deployment.last_check_id)
    )
    if q:
        like = contains(q)
        text_match = or_(
            CertificateDefinition.name.ilike(like, escape=LIKE_ESCAPE),
            Deployment.name.ilike(like, escape=LIKE_ESCAPE),
            Deployment.server_name.ilike(like, escape=LIKE_ESCAPE),
            Deployment.check_host.ilike(like, escape=LIKE_ESCAPE),
        )
        stmt = stmt.where(
            or_(text_match, Deployment.id == int(q)) if q.isdigit() and len(q) < 10 else text_match
        )
    if status:
        stmt = stmt.where(Deployment.status == status)
    if delivery:
        stmt = stmt.where(Deployment.delivery == delivery)
    cond = _view_condition(view)
    return stmt if cond is None else stmt.where(cond)


async def deployment_page(
    s: AsyncSession,
    *,
    q: str = "",
    status: str = "",
    delivery: str = "",
    view: str = "all",
    sort: str = "id",
    desc: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Deployment, CertificateDefinition, CheckResult | None]], int]:
    """One page of deployments (with definition and last check) matching the filters, and their total."""
    base = _deployments_select(q, status, delivery, view)
    total = int((await s.execute(select(func.count()).select_from(base.subquery()))).scalar_one())
    col = {
        "id": Deployment.id,
        "definition": CertificateDefinition.name,
        "server": Deployment.server_name,
        "status": Deployment.status,
        "checked": CheckResult.at,
    }.get(sort, Deployment.id)
    order = [col.desc().nulls_last() if desc else col.asc().nulls_last(), Deployment.id]
    rows = (await s.execute(base.order_by(*order).limit(limit).offset(offset))).all()
    return [(r[0], r[1], r[2]) for r in rows], total


async def deployment_view_counts(s: AsyncSession) -> dict[str, int]:
    """How many deployments each view holds (the list's summary links)."""
    counts: dict[str, int] = {}
    for view in DEPLOYMENT_VIEWS:
        base = _deployments_select("", "", "", view)
        counts[view] = int(
            (await s.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
        )
    return counts
