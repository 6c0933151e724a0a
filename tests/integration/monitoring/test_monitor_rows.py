"""Every row a monitoring run writes, read back: check results, deployments, history and audit.

Real nginx servers (the right chain, a leaf without its chain, another certificate of the same
definition) and a port where nothing listens. The expected rows are written out here from the
verdict of each endpoint (the probe engine alone, at the same fake time), not from the code that
stores them, so a row that goes missing, a column written differently, a state change, history
event or audit record too many or too few fails the test. Small batches, so several batches (one
transaction each) carry state changes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from sqlalchemy import func, select, update

from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    ChainLink,
    CheckResult,
    Deployment,
    DeploymentEvent,
)
from certmgr.controller.domain.actors import SYSTEM
from certmgr.controller.services.certificates.store import certificate_row
from certmgr.controller.services.monitoring import checks
from certmgr.controller.services.monitoring.checks import run_monitoring
from certmgr.controller.services.monitoring.config import MonitorConfig
from certmgr.controller.services.monitoring.targets import Checked, check_target, load_targets
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from tests.factories.servers import NginxServer, free_port
from tests.integration.monitoring.conftest import MonEnv

CFG = MonitorConfig(concurrency=4, probe_timeout=3.0, unreachable_after=2)


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


async def _snapshot(env: MonEnv) -> dict[str, Any]:
    async with env.db.reader() as s:
        deps = {d.id: _columns(d) for d in (await s.execute(select(Deployment))).scalars()}
        checks_n = (await s.execute(select(func.count()).select_from(CheckResult))).scalar_one()
        events = (await s.execute(select(func.max(DeploymentEvent.id)))).scalar_one() or 0
        audits = (await s.execute(select(func.max(AuditEvent.id)))).scalar_one() or 0
    return {"deps": deps, "checks": checks_n, "event_id": events, "audit_id": audits}


async def _add_certificate_b(env: MonEnv, leaf_b: x509.Certificate) -> int:
    """Leaf B as a second (not current) certificate of definition "web", chained like A."""
    a_sha = sha256_fingerprint(x509.load_pem_x509_certificate(env.files["leafA.pem"].read_bytes()))
    async with env.db.transaction() as s:
        a = (await s.execute(select(Certificate).where(Certificate.sha256 == a_sha))).scalar_one()
        b = certificate_row(leaf_b, source="imported", now=env.clock.now())
        b.definition_id = a.definition_id
        s.add(b)
        await s.flush()
        links = (
            await s.execute(select(ChainLink).where(ChainLink.certificate_id == a.id))
        ).scalars()
        s.add_all(
            ChainLink(
                certificate_id=b.id, position=x.position, ca_certificate_id=x.ca_certificate_id
            )
            for x in list(links)
        )
        return int(b.id)


async def _set(env: MonEnv, dep_id: int, **values: Any) -> None:
    async with env.db.transaction() as s:
        await s.execute(update(Deployment).where(Deployment.id == dep_id).values(**values))


def _expected_check(dep_id: int, c: Checked, at: dt.datetime) -> dict[str, Any]:
    o = c.outcome
    return {
        "deployment_id": dep_id,
        "at": at,
        "source": "monitor",
        "ok": o.ok,
        "reachable": o.reachable,
        "served_sha256": o.served_sha256 or "",
        "matches_current": o.matches_current,
        "chain_complete": o.chain_complete,
        "chain_in_order": o.chain_in_order,
        "hostname_matches": o.hostname_matches,
        "days_left": o.days_left,
        "error": "; ".join(o.problems),
        "detail": {**o.to_dict(), **c.extra},
    }


async def _run_and_read_back(
    env: MonEnv, moves: dict[int, tuple[str, str]], changed: dict[int, dict[str, Any]]
) -> dict[int, int]:
    """One run; asserts every written row; ``moves``: dep -> (from, to); ``changed``: other columns."""
    before = await _snapshot(env)
    targets, _ = await load_targets(env.db)
    verdicts = {
        t.deployment_id: await check_target(t, env.clock, CFG.probe_timeout, ()) for t in targets
    }
    at = env.clock.now()
    summary = await run_monitoring(env.db, env.clock, CFG, trust_roots=())
    assert summary.total == len(targets) == len(summary.check_ids)
    assert summary.ok == sum(c.healthy for c in verdicts.values())
    assert summary.to_check_failed == sum(to == "check-failed" for _, to in moves.values())
    assert summary.to_confirmed == sum(to == "confirmed" for _, to in moves.values())
    async with env.db.reader() as s:
        new = list(
            (
                await s.execute(select(CheckResult).where(CheckResult.id.in_(summary.check_ids)))
            ).scalars()
        )
        total = (await s.execute(select(func.count()).select_from(CheckResult))).scalar_one()
        events = [
            e
            for e in (
                await s.execute(select(DeploymentEvent).order_by(DeploymentEvent.id))
            ).scalars()
            if e.id > before["event_id"]
        ]
        audits = [
            a
            for a in (await s.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()
            if a.id > before["audit_id"]
        ]
    # one check result per target, nothing else written to the table
    assert total == before["checks"] + len(targets)
    by_dep = {r.deployment_id: r for r in new}
    assert sorted(by_dep) == sorted(verdicts)
    for dep_id, c in verdicts.items():
        row = _columns(by_dep[dep_id])
        assert row.pop("id") in summary.check_ids
        assert row == _expected_check(dep_id, c, at), dep_id
    # deployments: last check, failure counter, moves and the certificate seen served; nothing else
    after = await _snapshot(env)
    assert sorted(after["deps"]) == sorted(before["deps"])
    for dep_id, old in before["deps"].items():
        want = dict(old)
        if dep_id in verdicts:
            want["last_check_id"] = by_dep[dep_id].id
            reachable = verdicts[dep_id].outcome.reachable
            want["consecutive_failures"] = 0 if reachable else old["consecutive_failures"] + 1
        if dep_id in moves:
            assert old["status"] == moves[dep_id][0]
            want["status"], want["updated_at"] = moves[dep_id][1], at
        want.update(changed.get(dep_id, {}))
        assert after["deps"][dep_id] == want, dep_id
    # a history event and an audit record per state change, and nothing else
    detail = {
        dep_id: {"from": old, "check": by_dep[dep_id].id, "source": "monitor"}
        for dep_id, (old, _) in moves.items()
    }

    def message(dep_id: int) -> str:
        if moves[dep_id][1] == "confirmed":
            return "monitoring: the check passes again"
        return "monitoring: " + "; ".join(verdicts[dep_id].outcome.problems)

    assert sorted(
        (e.deployment_id, e.at, e.actor, e.event, e.message, e.detail) for e in events
    ) == sorted(
        (dep_id, at, SYSTEM.name, to, message(dep_id), detail[dep_id])
        for dep_id, (_, to) in moves.items()
    )
    assert sorted(
        (a.entity_id, a.at, a.actor, a.source, a.action, a.entity_type, a.detail) for a in audits
    ) == sorted(
        (
            str(dep_id),
            at,
            SYSTEM.name,
            SYSTEM.source,
            f"deployment.{to}",
            "deployment",
            detail[dep_id],
        )
        for dep_id, (_, to) in moves.items()
    )
    return {dep_id: by_dep[dep_id].id for dep_id in verdicts}


async def test_monitoring_writes_every_row(
    tmp_path: Path, env: MonEnv, monkeypatch: pytest.MonkeyPatch, pki: Any
) -> None:
    monkeypatch.setattr(checks, "BATCH", 3)  # several batches, each its own transaction
    f = env.files
    async with (
        NginxServer(tmp_path / "a", cert=f["fullchainA.pem"], key=f["leafA.key"]) as srv_a,
        NginxServer(tmp_path / "b", cert=f["fullchainB.pem"], key=f["leafB.key"]) as srv_b,
        NginxServer(tmp_path / "short", cert=f["leafA.pem"], key=f["leafA.key"]) as short,
    ):
        b_id = await _add_certificate_b(env, pki.leaf_b)
        down = free_port()
        ok = await env.deployment(srv_a.port, name="ok.test")
        chainless = await env.deployment(short.port, name="short.test")
        dead = await env.deployment(down, name="down.test")
        back = await env.deployment(srv_a.port, name="back.test")
        await _set(env, back, status="check-failed")
        draft = await env.deployment(short.port, name="draft.test", confirm=False)
        fresh = await env.deployment(srv_a.port, name="fresh.test")  # monitoring only
        given_b = await env.deployment(srv_a.port, name="given-b.test")  # sent B, serves A
        waiting = await env.deployment(srv_b.port, name="waiting.test")  # sent B, serves B
        other = await env.deployment(srv_b.port, name="other.test")  # nothing sent, serves B
        unmonitored = await env.deployment(srv_a.port, name="off.test")
        await _set(env, unmonitored, monitoring=False)
        a_id = (await _snapshot(env))["deps"][ok]["certificate_id"]
        assert a_id is not None and a_id != b_id
        for dep_id in (fresh, other):
            await _set(env, dep_id, certificate_id=None)
        for dep_id in (given_b, waiting):
            await _set(env, dep_id, certificate_id=b_id)

        # Run 1: the chain-less server fails at once, the dead port only counts a failure; the
        # failing one in check-failed passes again; served certificates of the definition are noted.
        await _run_and_read_back(
            env,
            {
                chainless: ("manually-confirmed", "check-failed"),
                back: ("check-failed", "confirmed"),
                other: ("manually-confirmed", "check-failed"),  # serves another certificate
            },
            {
                fresh: {"certificate_id": a_id},
                draft: {"certificate_id": a_id},  # a draft learns it too
                given_b: {"certificate_id": a_id},
                other: {"certificate_id": b_id},
            },
        )
        # Run 2: the dead port reaches the threshold; the one that was seen serving B now waits
        # for the current certificate (B was noted as its own), which passes again.
        await _run_and_read_back(
            env,
            {dead: ("manually-confirmed", "check-failed"), other: ("check-failed", "confirmed")},
            {},
        )
        # Run 3: nothing changes but the checks, counters and last checks.
        ids = await _run_and_read_back(env, {}, {})
    assert unmonitored not in ids and waiting in ids and draft in ids
    async with env.db.reader() as s:
        waited = await s.get(CheckResult, ids[waiting])
        assert waited is not None and waited.detail["serves_assigned"] is True
