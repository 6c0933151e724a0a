"""Queries of certificate definitions and what hangs off one (certificates, requests, deployments, history)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Row, and_, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    Deployment,
    Document,
)
from certmgr.controller.db.queries._bulk import table_of
from certmgr.controller.db.queries._like import LIKE_ESCAPE, numbered_copies
from certmgr.shared.errors import NotFoundError

_T = TypeVar("_T")


async def definition_by_ref(s: AsyncSession, ref: str | int) -> CertificateDefinition:
    """A definition by id or exact name.

    Raises:
        NotFoundError: No such definition.
    """
    row: CertificateDefinition | None = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        row = await s.get(CertificateDefinition, int(ref))
    if row is None and isinstance(ref, str):
        row = (
            await s.execute(select(CertificateDefinition).where(CertificateDefinition.name == ref))
        ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no certificate definition {ref!r}")
    return row


async def definitions_with_current(
    s: AsyncSession, *, limit: int, offset: int, include_archived: bool
) -> list[tuple[CertificateDefinition, Certificate | None]]:
    """Definitions by name, each with its current certificate (archived ones only when asked)."""
    stmt = select(CertificateDefinition, Certificate).outerjoin(
        Certificate, Certificate.id == CertificateDefinition.current_certificate_id
    )
    if not include_archived:
        stmt = stmt.where(CertificateDefinition.archived.is_(False))
    rows = await s.execute(stmt.order_by(CertificateDefinition.name).limit(limit).offset(offset))
    return [(d, c) for d, c in rows.all()]


async def current_certificate_of(s: AsyncSession, d: CertificateDefinition) -> Certificate | None:
    """The definition's current certificate, if it has one."""
    return await s.get(Certificate, d.current_certificate_id) if d.current_certificate_id else None


async def definitions_by_refs(
    s: AsyncSession, refs: Sequence[str | int]
) -> list[CertificateDefinition]:
    """:func:`definition_by_ref` for many refs in two queries (ids, then names), in the order of ``refs``.

    Raises:
        NotFoundError: No such definition (the first missing ref).
    """
    ids = _ref_ids(refs)
    by_id: dict[int, CertificateDefinition] = {}
    if ids:
        rows = await s.execute(
            select(CertificateDefinition).where(CertificateDefinition.id.in_(ids))
        )
        by_id = {d.id: d for d in rows.scalars().all()}
    names = _ref_names(refs, by_id)
    by_name: dict[str, CertificateDefinition] = {}
    if names:
        rows = await s.execute(
            select(CertificateDefinition).where(CertificateDefinition.name.in_(names))
        )
        by_name = {d.name: d for d in rows.scalars().all()}
    return _in_ref_order(refs, by_id, by_name)


async def definition_rows_by_refs(
    s: AsyncSession, refs: Sequence[str | int], columns: Sequence[str]
) -> list[Row[Any]]:
    """:func:`definitions_by_refs` as plain rows of ``id``, ``name`` and ``columns`` (no ORM objects).

    For bulk work that only reads a few columns: a Core query on the table (no ORM loading,
    no identity map), no JSON column decoded that is not asked for.

    Raises:
        NotFoundError: No such definition (the first missing ref).
    """
    t = table_of(CertificateDefinition)
    stmt = select(t.c.id, t.c.name, *(t.c[c] for c in columns))
    ids = _ref_ids(refs)
    by_id: dict[int, Row[Any]] = {}
    if ids:
        by_id = {r.id: r for r in (await s.execute(stmt.where(t.c.id.in_(ids)))).all()}
    names = _ref_names(refs, by_id)
    by_name: dict[str, Row[Any]] = {}
    if names:
        by_name = {r.name: r for r in (await s.execute(stmt.where(t.c.name.in_(names)))).all()}
    return _in_ref_order(refs, by_id, by_name)


def _ref_ids(refs: Sequence[str | int]) -> set[int]:
    return {int(r) for r in refs if isinstance(r, int) or r.isdigit()}


def _ref_names(refs: Sequence[str | int], by_id: Mapping[int, object]) -> set[str]:
    # a name made of digits is looked up by name only when no definition has it as its id
    return {r for r in refs if isinstance(r, str) and not (r.isdigit() and int(r) in by_id)}


def _in_ref_order(
    refs: Sequence[str | int], by_id: Mapping[int, _T], by_name: Mapping[str, _T]
) -> list[_T]:
    out = []
    for r in refs:
        row = by_id.get(int(r)) if isinstance(r, int) or r.isdigit() else None
        if row is None and isinstance(r, str):
            row = by_name.get(r)
        if row is None:
            raise NotFoundError(f"no certificate definition {r!r}")
        out.append(row)
    return out


async def missing_definition_id(s: AsyncSession, ids: Sequence[int]) -> int | None:
    """The first of ``ids`` that no definition has (None: all exist); one query."""
    if not ids:
        return None
    found = set(
        (
            await s.execute(
                select(CertificateDefinition.id).where(CertificateDefinition.id.in_(set(ids)))
            )
        )
        .scalars()
        .all()
    )
    return next((i for i in ids if i not in found), None)


async def set_current_certificates(
    s: AsyncSession, current: Sequence[tuple[int, int]], now: dt.datetime
) -> None:
    """Make certificate ``c`` current for definition ``d`` for each ``(d, c)``, in one executemany.

    A definition named twice ends with its last certificate (as with one update after another).
    """
    if not current:
        return
    t = table_of(CertificateDefinition)
    await s.execute(
        update(t)
        .where(t.c.id == bindparam("d_id"))
        .values(current_certificate_id=bindparam("c_id"), updated_at=now),
        [{"d_id": d, "c_id": c} for d, c in current],
    )


async def certificates_of(s: AsyncSession, definition_id: int) -> Sequence[Certificate]:
    """A definition's certificates, the longest-lived first."""
    rows = await s.execute(
        select(Certificate)
        .where(Certificate.definition_id == definition_id)
        .order_by(Certificate.not_after.desc())
    )
    return rows.scalars().all()


async def requests_of(s: AsyncSession, definition_id: int) -> Sequence[CertificateRequest]:
    """A definition's requests, oldest first."""
    rows = await s.execute(
        select(CertificateRequest)
        .where(CertificateRequest.definition_id == definition_id)
        .order_by(CertificateRequest.id)
    )
    return rows.scalars().all()


async def deployments_of(s: AsyncSession, definition_id: int) -> Sequence[Deployment]:
    """A definition's deployments, by id."""
    rows = await s.execute(
        select(Deployment).where(Deployment.definition_id == definition_id).order_by(Deployment.id)
    )
    return rows.scalars().all()


async def definition_history(
    s: AsyncSession, definition_id: int, *, limit: int = 100
) -> Sequence[AuditEvent]:
    """The newest audit events about a definition, newest first."""
    rows = await s.execute(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "definition", AuditEvent.entity_id == str(definition_id))
        .order_by(AuditEvent.at.desc())
        .limit(limit)
    )
    return rows.scalars().all()


_CHUNK = 500


async def definition_by_name(s: AsyncSession, name: str) -> CertificateDefinition | None:
    """The definition with exactly this name, if any."""
    return (
        await s.execute(select(CertificateDefinition).where(CertificateDefinition.name == name))
    ).scalar_one_or_none()


async def live_definitions_by_common_name(
    s: AsyncSession, common_names: Sequence[str]
) -> list[CertificateDefinition]:
    """Definitions (not archived) whose common name is one of ``common_names``."""
    out: list[CertificateDefinition] = []
    cns = list(dict.fromkeys(common_names))
    for i in range(0, len(cns), _CHUNK):
        rows = await s.execute(
            select(CertificateDefinition).where(
                CertificateDefinition.common_name.in_(cns[i : i + _CHUNK]),
                CertificateDefinition.archived.is_(False),
            )
        )
        out.extend(rows.scalars().all())
    return out


async def definition_ids_by_name(s: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    """The ids of the definitions named in ``names``, by name."""
    out: dict[str, int] = {}
    uniq = list(dict.fromkeys(names))
    for i in range(0, len(uniq), _CHUNK):
        rows = await s.execute(
            select(CertificateDefinition.name, CertificateDefinition.id).where(
                CertificateDefinition.name.in_(uniq[i : i + _CHUNK])
            )
        )
        out.update({k: int(v) for k, v in rows.all()})
    return out


async def names_taken(s: AsyncSession, bases: Sequence[str]) -> set[str]:
    """The definition names in use among ``bases`` and their numbered copies (``base (2)`` ...)."""
    taken: set[str] = set()
    uniq = list(set(bases))
    for i in range(0, len(uniq), _CHUNK):
        rows = await s.execute(
            select(CertificateDefinition.name).where(
                CertificateDefinition.name.in_(uniq[i : i + _CHUNK])
            )
        )
        taken.update(rows.scalars().all())
    for base in [b for b in uniq if b in taken]:
        rows = await s.execute(
            select(CertificateDefinition.name).where(
                CertificateDefinition.name.like(numbered_copies(base), escape=LIKE_ESCAPE)
            )
        )
        taken.update(rows.scalars().all())
    return taken


async def newest_request_status(s: AsyncSession, definition_ids: Sequence[int]) -> dict[int, str]:
    """The status of each definition's newest request (definitions without one are left out)."""
    if not definition_ids:
        return {}
    newest = (
        select(CertificateRequest.definition_id, func.max(CertificateRequest.id).label("rid"))
        .where(CertificateRequest.definition_id.in_(list(definition_ids)))
        .group_by(CertificateRequest.definition_id)
        .subquery()
    )
    rows = await s.execute(
        select(CertificateRequest.definition_id, CertificateRequest.status).join(
            newest, CertificateRequest.id == newest.c.rid
        )
    )
    return {int(def_id): status for def_id, status in rows.all()}


async def deployment_states(
    s: AsyncSession, definition_ids: Sequence[int]
) -> tuple[dict[int, dict[str, int]], dict[int, int]]:
    """Per definition: how many deployments are in each status, and how many lack its current certificate."""
    states: dict[int, dict[str, int]] = {i: {} for i in definition_ids}
    outdated: dict[int, int] = dict.fromkeys(definition_ids, 0)
    if not definition_ids:
        return states, outdated
    old = and_(
        func.coalesce(Deployment.certificate_id, -1)
        != func.coalesce(CertificateDefinition.current_certificate_id, -1),
        Deployment.status != "retired",  # the server is gone: it needs nothing
    )
    rows = await s.execute(
        select(
            Deployment.definition_id,
            Deployment.status,
            func.count(Deployment.id),
            func.sum(case((old, 1), else_=0)).label("old"),
        )
        .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
        .where(Deployment.definition_id.in_(list(definition_ids)))
        .group_by(Deployment.definition_id, Deployment.status)
    )
    for def_id, status, n, n_old in rows.all():
        states[def_id][status] = int(n)
        outdated[def_id] += int(n_old or 0)
    return states, outdated


async def references_to_definition(s: AsyncSession, definition_id: int) -> dict[str, int]:
    """What refers to a definition: how many certificates, requests, deployments and documents (zero counts left out)."""
    out: dict[str, int] = {}
    for label, model in (
        ("certificates", Certificate),
        ("requests", CertificateRequest),
        ("deployments", Deployment),
        ("documents", Document),
    ):
        n = (
            await s.execute(
                select(func.count(model.id)).where(model.definition_id == definition_id)
            )
        ).scalar_one()
        if n:
            out[label] = int(n)
    return out


async def certificate_of_definition(
    s: AsyncSession, definition_id: int, certificate_id: int
) -> Certificate:
    """One of a definition's certificates.

    Raises:
        NotFoundError: No such certificate, or it belongs to another definition.
    """
    row = await s.get(Certificate, certificate_id)
    if row is None or row.definition_id != definition_id:
        raise NotFoundError(f"definition {definition_id} has no certificate {certificate_id}")
    return row


async def switch_events(
    s: AsyncSession, definition_id: int, *, limit: int = 50
) -> Sequence[AuditEvent]:
    """The newest changes of a definition's current certificate, newest first."""
    rows = await s.execute(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == "definition",
            AuditEvent.entity_id == str(definition_id),
            AuditEvent.action.in_(("definition.switch-current", "definition.rollback")),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return rows.scalars().all()


async def definitions_due_to_switch(
    s: AsyncSession, now: dt.datetime
) -> Sequence[CertificateDefinition]:
    """Definitions holding a certificate whose switch time has come."""
    rows = await s.execute(
        select(CertificateDefinition)
        .where(
            CertificateDefinition.held_certificate_id.is_not(None),
            CertificateDefinition.switch_at <= now,
        )
        .order_by(CertificateDefinition.id)
    )
    return rows.scalars().all()
