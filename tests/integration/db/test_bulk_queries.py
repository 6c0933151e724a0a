"""Bulk helpers used by import and issuance: many refs in two queries, Core inserts with defaults."""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - loaded now, not by the db fixture's first to_thread on the loop
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from certmgr.controller.db.models import AuditEvent, CertificateDefinition
from certmgr.controller.db.queries._bulk import table_insert
from certmgr.controller.db.queries.definitions import definition_by_ref, definitions_by_refs
from certmgr.shared.errors import NotFoundError


async def _definitions(db: Any, names: list[str]) -> dict[str, int]:
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as s:
        rows = [
            CertificateDefinition(
                name=n,
                common_name=f"{n}.example.test",
                sans=[],
                key_type="ec-p256",
                issuer_kind="private-ca",
                requirements={},
                renewal_policy={},
                created_at=now,
                updated_at=now,
            )
            for n in names
        ]
        s.add_all(rows)
        await s.flush()
        return {r.name: r.id for r in rows}


async def test_definitions_by_refs_agrees_with_definition_by_ref(db: Any) -> None:
    ids = await _definitions(db, ["web", "api", "12345", "mail"])
    # ids as numbers and as digit strings, names, a name made of digits, repeats, any order
    refs: list[str | int] = [
        ids["mail"],
        "web",
        str(ids["api"]),
        "12345",
        "web",
        ids["web"],
    ]
    async with db.reader() as s:
        bulk = await definitions_by_refs(s, refs)
        one_by_one = [await definition_by_ref(s, r) for r in refs]
    assert [d.id for d in bulk] == [d.id for d in one_by_one]
    assert [d.name for d in bulk] == ["mail", "web", "api", "12345", "web", "web"]


async def test_definitions_by_refs_names_the_first_missing_ref(db: Any) -> None:
    await _definitions(db, ["web"])
    async with db.reader() as s:
        with pytest.raises(NotFoundError, match="'nope'"):
            await definitions_by_refs(s, ["web", "nope", 99999])
        with pytest.raises(NotFoundError, match="99999"):
            await definitions_by_refs(s, [99999, "nope"])
        assert await definitions_by_refs(s, []) == []


async def test_table_insert_applies_column_defaults(db: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as s:
        await s.execute(
            table_insert(AuditEvent),
            [{"at": now, "actor": "bench", "action": "x.y"} for _ in range(3)],
        )
    async with db.reader() as s:
        rows = (await s.execute(select(AuditEvent).where(AuditEvent.action == "x.y"))).scalars()
        events = list(rows)
    assert len(events) == 3
    assert all(e.source == "" and e.entity_id == "" and e.detail == {} for e in events)
