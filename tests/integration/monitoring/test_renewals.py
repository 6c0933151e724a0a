"""The renewal job: due private-CA certificates are renewed; a failing acquisition is recorded,
retried only after its backoff, raises renewal-failed, and never touches the current certificate."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from certmgr.controller.db.models import CertificateDefinition, CertificateRequest
from certmgr.controller.scheduler.runner import JobRun
from tests.factories.homes import arun_cli
from tests.integration.monitoring.conftest import ADMIN, MonEnv


async def _definition(env: MonEnv, name: str) -> CertificateDefinition:
    async with env.db.reader() as s:
        return (
            await s.execute(select(CertificateDefinition).where(CertificateDefinition.name == name))
        ).scalar_one()


async def _set(env: MonEnv, name: str, **values: object) -> None:
    async with env.db.transaction() as s:
        d = (
            await s.execute(select(CertificateDefinition).where(CertificateDefinition.name == name))
        ).scalar_one()
        for k, v in values.items():
            setattr(d, k, v)


async def _renew(env: MonEnv) -> JobRun:
    run = await env.scheduler.run_job("renewal", force=True)
    assert run.status == "ok", run.error
    return run


async def test_renewal_job_renews_retries_and_keeps_the_current_certificate(env: MonEnv) -> None:
    home = str(env.home)
    for args in (
        ["definition", "new", "--name", "intranet", "--cn", "intranet.example.test"],
        ["request", "new", "intranet", "--wait"],
    ):
        res = await arun_cli([*args, "--home", home])
        assert res.code == 0, res.err
    first = (await _definition(env, "intranet")).current_certificate_id
    assert (await _renew(env)).summary["due"] == 0

    # intranet: due at once by its policy -> renewed by the job, the new certificate current
    await _set(env, "intranet", renewal_policy={"days_before": 100000})
    run = await _renew(env)
    assert run.summary["renewed"] == 1 and run.summary["started"] == 1
    second = (await _definition(env, "intranet")).current_certificate_id
    assert second is not None and second != first
    await _set(env, "intranet", renewal_policy={})

    # web: made an ACME definition without an account, so every attempt fails
    await _set(env, "web", issuer_kind="acme")
    web = await _definition(env, "web")
    env.clock.advance(dt.timedelta(days=21))  # a third of its 30 days left: due
    run = await _renew(env)
    assert run.summary["failed"] == 1 and "ACME account" in run.summary["errors"][0]
    assert run.summary["opened"] >= 1
    assert f"renewal-failed:{web.id}" in await env.open_keys()
    async with env.db.reader() as s:
        req = (
            await s.execute(
                select(CertificateRequest).where(CertificateRequest.definition_id == web.id)
            )
        ).scalar_one()
    assert (req.status, req.attempts) == ("key-and-csr", 1)
    assert req.next_attempt_at == env.clock.now() + dt.timedelta(minutes=10)
    assert (await _definition(env, "web")).current_certificate_id == web.current_certificate_id

    env.clock.advance(dt.timedelta(minutes=5))
    run = await _renew(env)
    assert run.summary["waiting"] == 1 and run.summary["failed"] == 0  # backoff not over

    env.clock.advance(dt.timedelta(minutes=6))
    run = await _renew(env)
    assert run.summary["failed"] == 1
    async with env.db.reader() as s:
        req2 = await s.get(CertificateRequest, req.id)
    assert req2 is not None and req2.attempts == 2
    assert req2.next_attempt_at == env.clock.now() + dt.timedelta(minutes=20)
    assert (await _definition(env, "web")).current_certificate_id == web.current_certificate_id
    assert (await _definition(env, "intranet")).current_certificate_id == second


async def test_renewal_goes_to_every_agent_deployment_whatever_its_state(env: MonEnv) -> None:
    """A deployment still `installed` (its check pending) must not hold back the renewal."""
    from cryptography import x509

    from certmgr.controller.db.models import AgentWork, Deployment
    from certmgr.controller.services.agents.identity import signing_key
    from certmgr.controller.services.agents.wakeups import wakeups_for
    from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
    from certmgr.shared.envelope import open_for_agent
    from certmgr.shared.pki import sha256_fingerprint

    for args in (
        ["definition", "new", "--name", "intranet", "--cn", "intranet.example.test"],
        ["request", "new", "intranet", "--wait"],
    ):
        res = await arun_cli([*args, "--home", str(env.home)])
        assert res.code == 0, res.err
    agent_id, box = await env.agent()
    await _set(env, "intranet", auto_deploy=True)
    deps = []
    for name in ("www1", "www2"):
        dep = await create_deployment(
            env.db,
            ADMIN,
            DeploymentSpec(
                definition_ref="intranet",
                server_name=name,
                software="files",
                delivery="agent",
                agent_id=agent_id,
            ),
            env.clock,
        )
        deps.append(dep.id)
    async with env.db.transaction() as s:
        for dep_id, status in zip(deps, ("installed", "confirmed"), strict=True):
            row = await s.get(Deployment, dep_id)
            assert row is not None
            row.status = status
    await _set(env, "intranet", renewal_policy={"days_before": 100000})
    async with wakeups_for(env.db).waiter(str(agent_id)) as woken:
        run = await _renew(env)
        assert run.summary["renewed"] == 1
        assert woken.is_set()  # the long-poll of the agent is answered at once
    current = (await _definition(env, "intranet")).current_certificate_id
    async with env.db.reader() as s:
        work = list(
            (await s.execute(select(AgentWork).where(AgentWork.state == "queued"))).scalars()
        )
        rows = [await s.get(Deployment, d) for d in deps]
    assert sorted(w.deployment_id or 0 for w in work) == deps
    assert all(r is not None and r.status == "install-requested" for r in rows)
    assert all(r is not None and r.certificate_id == current for r in rows)
    verify = (await signing_key(env.db, env.vault)).verify_key
    for w in work:  # sealed to the agent, signed by the controller, carrying the new certificate
        assert w.blob is not None
        manifest = open_for_agent(w.blob, box, verify, installed_sequence=None, now=env.clock.now())
        assert manifest.deployment_id == w.deployment_id
        assert manifest.private_key_pkcs8 is not None
        async with env.db.reader() as s:
            from certmgr.controller.db.models import Certificate

            cert = await s.get(Certificate, current)
        assert cert is not None
        assert (
            sha256_fingerprint(x509.load_pem_x509_certificates(manifest.certificate_pem)[0])
            == cert.sha256
        )
