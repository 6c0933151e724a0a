"""Bulk helpers used by import and issuance: many refs in two queries, Core inserts with defaults."""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - loaded now, not by the db fixture's first to_thread on the loop
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import inspect, select

from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    CertificateDefinition,
    PrivateKeyRecord,
)
from certmgr.controller.db.queries._bulk import detached_rows, insert_with_ids, table_insert
from certmgr.controller.db.queries.definitions import (
    definition_by_ref,
    definition_rows_by_refs,
    definitions_by_refs,
    missing_definition_id,
    set_current_certificates,
)
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
    async with db.reader() as s:
        rows = await definition_rows_by_refs(s, refs, ["common_name", "sans"])
        with pytest.raises(NotFoundError, match="'nope'"):
            await definition_rows_by_refs(s, ["web", "nope"], [])
    assert [(r.id, r.name, r.common_name, r.sans) for r in rows] == [
        (d.id, d.name, d.common_name, d.sans) for d in one_by_one
    ]


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


async def test_insert_with_ids_in_row_order_and_rows_as_read_back(db: Any) -> None:
    now = dt.datetime(2026, 12, 5, 3, 4, 5, 678901, tzinfo=dt.UTC)
    # fingerprints out of sorted order, so an id order by fingerprint would show
    rows = [
        {
            "algorithm": "EC",
            "size": 256,
            "key_type": "ec-p256",
            "public_sha256": f"{(7 * i) % 600:064x}",
            "origin": "generated",
            "sealed_pkcs8": bytes([i % 256]) * 3,
            "created_at": now,
        }
        for i in range(600)  # more than one read-back query
    ]
    async with db.transaction() as s:
        ids = await insert_with_ids(s, PrivateKeyRecord, rows, "public_sha256")
        assert await insert_with_ids(s, PrivateKeyRecord, [], "public_sha256") == []
    made = detached_rows(PrivateKeyRecord, [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
    async with db.reader() as s:
        stored = {k.id: k for k in (await s.execute(select(PrivateKeyRecord))).scalars()}
    columns = [c.key for c in PrivateKeyRecord.__table__.columns]
    assert len(set(ids)) == len(rows)
    for m, r in zip(made, rows, strict=True):
        assert stored[m.id].public_sha256 == r["public_sha256"]
        assert {c: getattr(m, c) for c in columns} == {c: getattr(stored[m.id], c) for c in columns}
        assert inspect(m).detached and inspect(m).identity == (m.id,)


async def test_set_current_certificates_and_missing_definition_id(db: Any) -> None:
    ids = await _definitions(db, ["a", "b", "c"])
    now = dt.datetime(2026, 12, 5, 4, 0, tzinfo=dt.UTC)
    async with db.transaction() as s:
        certs = await insert_with_ids(
            s,
            Certificate,
            [
                {
                    "der": bytes([n]),
                    "sha256": f"{n:064x}",
                    "sha1": "0" * 40,
                    "public_key_sha256": "0" * 64,
                    "serial_hex": str(n),
                    "subject": "",
                    "common_name": "",
                    "issuer": "",
                    "not_before": now,
                    "not_after": now,
                    "key_label": "EC P-256",
                    "source": "issued",
                    "created_at": now,
                }
                for n in range(3)
            ],
            "sha256",
        )
        # a definition named twice ends with its last certificate; one not named is untouched
        await set_current_certificates(
            s, [(ids["a"], certs[0]), (ids["b"], certs[1]), (ids["a"], certs[2])], now
        )
        await set_current_certificates(s, [], now)
        assert await missing_definition_id(s, [ids["c"], 999999, ids["a"], 999998]) == 999999
        assert await missing_definition_id(s, list(ids.values())) is None
        assert await missing_definition_id(s, []) is None
    async with db.reader() as s:
        got = {
            d.name: (d.current_certificate_id, d.updated_at)
            for d in (await s.execute(select(CertificateDefinition))).scalars()
        }
    assert got["a"] == (certs[2], now) and got["b"] == (certs[1], now)
    assert got["c"][0] is None and got["c"][1] != now
