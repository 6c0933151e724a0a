"""Queries for monitoring: what a shared round checks and has done, and a run's bulk writes.

The writes are Core statements on the tables (plain rows, no ORM objects): a monitoring batch
stores hundreds of checks at once, and the ORM's per-object work cost more than the SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import Certificate, CertificateDefinition, CheckResult, Deployment
from certmgr.controller.db.queries._bulk import table_of


async def monitored_deployment_ids(s: AsyncSession) -> list[int]:
    """Ids of the deployments a monitoring run checks (monitored, definition not archived)."""
    stmt = (
        select(Deployment.id)
        .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
        .where(Deployment.monitoring.is_(True), CertificateDefinition.archived.is_(False))
        .order_by(Deployment.id)
    )
    return list((await s.execute(stmt)).scalars())


async def checked_since(
    s: AsyncSession, deployment_ids: Sequence[int], since: dt.datetime, source: str
) -> set[int]:
    """Which of ``deployment_ids`` have a check from ``source`` at or after ``since``."""
    if not deployment_ids:
        return set()
    stmt = select(CheckResult.deployment_id).where(
        CheckResult.deployment_id.in_(list(deployment_ids)),
        CheckResult.source == source,
        CheckResult.at >= since,
    )
    return set((await s.execute(stmt)).scalars())


class CheckState(NamedTuple):
    """What storing a check needs of its deployment (a plain row, no ORM object)."""

    id: int
    status: str
    consecutive_failures: int
    certificate_id: int | None
    definition_id: int


async def check_states(s: AsyncSession, deployment_ids: Sequence[int]) -> dict[int, CheckState]:
    """The :class:`CheckState` of each of ``deployment_ids`` that exists, by id."""
    if not deployment_ids:
        return {}
    t = table_of(Deployment)
    rows = await s.execute(
        select(
            t.c.id, t.c.status, t.c.consecutive_failures, t.c.certificate_id, t.c.definition_id
        ).where(t.c.id.in_(list(deployment_ids)))
    )
    return {r[0]: CheckState(*r) for r in rows}


async def insert_check_results(s: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert check results (Core, multi-row INSERTs); their ids in ``rows``' order.

    With one row per deployment the ids are matched by deployment: asking for RETURNING in
    parameter order instead makes SQLite insert one row per statement.
    """
    if not rows:
        return []
    t = table_of(CheckResult)
    deps = [r["deployment_id"] for r in rows]
    if len(set(deps)) == len(deps):
        pairs = await s.execute(insert(t).returning(t.c.id, t.c.deployment_id), rows)
        by_dep = {dep: int(cid) for cid, dep in pairs}
        return [by_dep[dep] for dep in deps]
    ordered = insert(t).returning(t.c.id, sort_by_parameter_order=True)
    return [int(cid) for cid in (await s.execute(ordered, rows)).scalars()]


async def note_last_checks(s: AsyncSession, checks: Sequence[tuple[int, int, int]]) -> None:
    """Set each deployment's last check and failure counter: ``(deployment, check, failures)``."""
    if not checks:
        return
    t = table_of(Deployment)
    stmt = (
        update(t)
        .where(t.c.id == bindparam("dep"))
        .values(last_check_id=bindparam("check"), consecutive_failures=bindparam("failures"))
    )
    await s.execute(stmt, [{"dep": d, "check": c, "failures": f} for d, c, f in checks])


async def certificate_owners(
    s: AsyncSession, sha256s: Sequence[str]
) -> dict[str, tuple[int, int | None]]:
    """``(id, definition_id)`` of the stored certificates among ``sha256s``, by fingerprint."""
    if not sha256s:
        return {}
    t = table_of(Certificate)
    rows = await s.execute(
        select(t.c.sha256, t.c.id, t.c.definition_id).where(t.c.sha256.in_(list(set(sha256s))))
    )
    return {sha: (cid, def_id) for sha, cid, def_id in rows}


async def current_certificate_ids(
    s: AsyncSession, definition_ids: Sequence[int]
) -> dict[int, int | None]:
    """The current certificate of each of ``definition_ids``, by definition."""
    if not definition_ids:
        return {}
    t = table_of(CertificateDefinition)
    rows = await s.execute(
        select(t.c.id, t.c.current_certificate_id).where(t.c.id.in_(list(set(definition_ids))))
    )
    return {def_id: cur for def_id, cur in rows}


async def set_deployment_certificates(s: AsyncSession, changes: Mapping[int, int]) -> None:
    """Set the certificate each deployment carries: ``{deployment: certificate}``."""
    if not changes:
        return
    t = table_of(Deployment)
    stmt = update(t).where(t.c.id == bindparam("dep")).values(certificate_id=bindparam("cert"))
    await s.execute(stmt, [{"dep": d, "cert": c} for d, c in changes.items()])


async def deployment_rows(s: AsyncSession, deployment_ids: Sequence[int]) -> dict[int, Deployment]:
    """Deployments as ORM rows (to change their state in ``s``), by id."""
    if not deployment_ids:
        return {}
    stmt = select(Deployment).where(Deployment.id.in_(list(deployment_ids)))
    return {d.id: d for d in (await s.execute(stmt)).scalars()}
