"""store_checks: every returned id is the row of its own check, with one check per deployment or several."""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - loaded now, not by the db fixture's first to_thread on the loop
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from certmgr.controller.db.models import CertificateDefinition, CheckResult, Deployment
from certmgr.controller.services.deployment.checks import NewCheck, store_checks
from certmgr.shared.deploycheck import CheckOutcome


def _outcome(days_left: int) -> CheckOutcome:
    return CheckOutcome(
        ok=days_left % 2 == 0,
        reachable=True,
        served_sha256="ab" * 32,
        matches_current=True,
        chain_complete=True,
        chain_in_order=True,
        missing_intermediates=[],
        extra_certs=[],
        days_left=days_left,
        hostname_matches=True,
        protocol="TLSv1.3",
        cipher=None,
        problems=[],
    )


async def _deployments(db: Any, n: int) -> list[int]:
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as s:
        d = CertificateDefinition(
            name="web",
            common_name="web.example.test",
            sans=[],
            key_type="ec-p256",
            issuer_kind="private-ca",
            requirements={},
            renewal_policy={},
            created_at=now,
            updated_at=now,
        )
        s.add(d)
        await s.flush()
        deps = [
            Deployment(
                definition_id=d.id,
                name=f"web{i}",
                server_name=f"web{i}.example.test",
                check_host="127.0.0.1",
                check_port=443,
                target_type="nginx",
                target_params={},
                delivery="agent",
                status="confirmed",
                created_at=now,
                updated_at=now,
            )
            for i in range(n)
        ]
        s.add_all(deps)
        await s.flush()
        return [x.id for x in deps]


@pytest.mark.parametrize("repeat", [False, True], ids=["one-per-deployment", "repeated"])
async def test_each_id_is_its_own_check(db: Any, repeat: bool) -> None:
    dep_ids = await _deployments(db, 30)
    # shuffled order; with repeat, some deployments get two checks in one call
    order = dep_ids[::-1] + (dep_ids[:5] if repeat else [])
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as s:
        deps = {
            d.id: d
            for d in (await s.execute(select(Deployment).where(Deployment.id.in_(dep_ids))))
            .scalars()
            .all()
        }
        checks = [
            NewCheck(deps[dep_id], _outcome(i), now, "monitor") for i, dep_id in enumerate(order)
        ]
        ids = await store_checks(s, checks)
    assert len(ids) == len(set(ids)) == len(order)
    async with db.reader() as s:
        rows = {
            r.id: r
            for r in (await s.execute(select(CheckResult).where(CheckResult.id.in_(ids))))
            .scalars()
            .all()
        }
        last = {
            d.id: d.last_check_id
            for d in (await s.execute(select(Deployment).where(Deployment.id.in_(dep_ids))))
            .scalars()
            .all()
        }
    for i, (dep_id, check_id) in enumerate(zip(order, ids, strict=True)):
        assert rows[check_id].deployment_id == dep_id
        assert rows[check_id].days_left == i
    # a deployment's last check is the last one given for it
    latest = {dep_id: check_id for dep_id, check_id in zip(order, ids, strict=True)}
    assert last == latest
