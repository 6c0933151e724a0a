"""What an agent reports installed raises ``agent-mismatch`` only when it contradicts what was
sent: not for a renewal not yet sent, not while an install is under way, not for a target that
is unavailable, and an open mismatch clears when there is nothing left to compare."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from sqlalchemy import select

from certmgr.controller.db.models import CertificateDefinition, Deployment, Finding
from certmgr.controller.services.agents.inventory import check_inventory
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.shared import protocol as p
from certmgr.shared.pki import sha256_fingerprint
from tests.factories.homes import arun_cli
from tests.integration.monitoring.conftest import ADMIN, MonEnv

LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _report(sha256: str, availability: str = "ready") -> tuple[p.TargetReport, ...]:
    return (
        p.TargetReport(
            name="web",
            type="files",
            availability=availability,
            installed=(p.InstalledItem(path="/srv/cert.pem", sha256=sha256, not_after=LATER),)
            if availability == "ready"
            else (),
        ),
    )


async def _set_status(env: MonEnv, dep_id: int, status: str) -> None:
    async with env.db.transaction() as s:
        row = await s.get(Deployment, dep_id)
        assert row is not None
        row.status = status


async def _mismatches(env: MonEnv) -> list[Finding]:
    async with env.db.reader() as s:
        return list(
            (
                await s.execute(
                    select(Finding).where(Finding.kind == "agent-mismatch", Finding.state == "open")
                )
            ).scalars()
        )


async def test_inventory_is_compared_with_what_was_sent(env: MonEnv) -> None:
    agent_id, _ = await env.agent()
    dep = await create_deployment(
        env.db,
        ADMIN,
        DeploymentSpec(
            definition_ref="web", server_name="www1", software="files", delivery="agent",
            agent_id=agent_id, target_params={p.TARGET_LABEL_PARAM: "web"},
        ),
        env.clock,
    )  # fmt: skip
    sent = sha256_fingerprint(x509.load_pem_x509_certificate(env.files["leafA.pem"].read_bytes()))
    async with env.db.transaction() as s:
        row = await s.get(Deployment, dep.id)
        assert row is not None
        d = await s.get(CertificateDefinition, row.definition_id)
        assert d is not None
        row.certificate_id = d.current_certificate_id
        row.status = "confirmed"

    assert await env.status(dep.id) == "confirmed"
    await check_inventory(env.db, agent_id, _report(sent), env.clock)
    assert await _mismatches(env) == []
    # someone put another certificate back by hand
    await check_inventory(env.db, agent_id, _report("ab" * 32), env.clock)
    [finding] = await _mismatches(env)
    assert finding.deployment_id == dep.id and finding.severity == "critical"
    # the target is gone for now (package removed, config broken): nothing to compare, cleared
    await check_inventory(env.db, agent_id, _report("", "absent"), env.clock)
    assert await _mismatches(env) == []
    await check_inventory(env.db, agent_id, _report("ab" * 32), env.clock)
    assert len(await _mismatches(env)) == 1
    # a new install is on its way: the old report is no mismatch
    await _set_status(env, dep.id, "install-requested")
    await check_inventory(env.db, agent_id, _report("ab" * 32), env.clock)
    assert await _mismatches(env) == []

    # a renewal not sent yet (no auto-deploy): the agent still holds what it was sent, no alarm
    await _set_status(env, dep.id, "confirmed")
    async with env.db.transaction() as s:
        d = (
            await s.execute(
                select(CertificateDefinition).where(CertificateDefinition.name == "web")
            )
        ).scalar_one()
        before, d.issuer_kind, d.auto_deploy = d.current_certificate_id, "private-ca", False
    res = await arun_cli(["request", "new", "web", "--wait", "--home", str(env.home)])
    assert res.code == 0, res.err
    async with env.db.reader() as s:
        d = (
            await s.execute(
                select(CertificateDefinition).where(CertificateDefinition.name == "web")
            )
        ).scalar_one()
    assert d.current_certificate_id != before  # the definition moved on; the deployment did not
    assert await env.status(dep.id) == "confirmed"
    await check_inventory(env.db, agent_id, _report(sent), env.clock)
    assert await _mismatches(env) == []
