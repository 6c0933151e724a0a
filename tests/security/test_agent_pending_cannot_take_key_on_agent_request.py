"""Issue 12, finding 1: no agent but the one asked can answer a key-on-agent request.

A second agent still waiting for approval, and a second approved agent that was not asked, both
post their own CSR for the victim's request through the real agent API: both are refused and the
request keeps waiting. The asked agent's CSR is accepted once (the certificate is issued with its
key); a second CSR for the same request is refused and changes nothing. A pending agent may only
wait on ``/work``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import nacl.public
import nacl.signing
import pytest
from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    AccessRefusal,
    AuditEvent,
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    EnrollmentToken,
)
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.agents.enrolment import create_enrollment_token, enroll
from certmgr.controller.services.agents.key_on_agent import request_key_on_agent
from certmgr.controller.vault import read_master_key
from certmgr.shared import protocol as p
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import PermissionDeniedError
from certmgr.shared.pki import KeyType, build_csr, csr_pem, generate_private_key, public_key_sha256
from tests.factories.console import Console, console_client
from tests.factories.homes import arun_cli, make_home, run_cli
from tests.factories.sim_agents import SimAgent, enroll_sim_agent

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")
CN = "victim.example.test"


async def _enroll(db: Database, vault: object, name: str, *, auto_approve: bool) -> SimAgent:
    return await enroll_sim_agent(db, vault, name, auto_approve=auto_approve)  # type: ignore[arg-type]


async def _call(c: Console, agent: SimAgent, method: str, path: str, body: bytes = b"") -> int:
    headers = p.sign_request(
        agent.key, agent.agent_id, method, path, body, dt.datetime.now(dt.UTC), p.new_nonce()
    )
    if body:
        headers["Content-Type"] = "application/json"
    resp = await c.client.request(method, path, data=body or None, headers=headers)
    await resp.read()
    return resp.status


def _csr_upload(request_id: int) -> tuple[bytes, str]:
    key = generate_private_key(KeyType.EC_P256)
    upload = p.CsrUpload(
        request_id=str(request_id),
        csr_pem=csr_pem(build_csr(key, CN, [CN])),
        public_key_sha256=public_key_sha256(key),
    )
    return p.encode(upload), upload.public_key_sha256


async def _request(db: Database, request_id: int) -> CertificateRequest:
    async with db.reader() as s:
        req = await s.get(CertificateRequest, request_id)
        assert req is not None
        return req


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> Path:
    home = make_home(tmp_path, database_url)
    res = run_cli(
        ["definition", "new", "--home", str(home), "--name", "victim", "--cn", CN, "--san", CN]
    )
    assert res.code == 0, res.err
    return home


async def test_agent_pending_cannot_take_key_on_agent_request(home: Path) -> None:
    async with console_client(home) as c:
        vault = read_master_key(c.settings.master_key_path)
        db = Database(c.settings.database_url)
        try:
            victim = await _enroll(db, vault, "victim", auto_approve=True)
            pending = await _enroll(db, vault, "pending", auto_approve=False)
            other = await _enroll(db, vault, "other", auto_approve=True)
            req = await request_key_on_agent(
                db, vault, ADMIN, "victim", int(victim.agent_id), SystemClock()
            )

            # a pending agent may only wait for approval
            assert await _call(c, pending, "GET", p.work_path(0)) == 200
            for path, msg in (
                (p.PATH_REPORT, p.Report(deployment_id=1, sequence=1, ok=True)),
                (p.PATH_INVENTORY, p.InventoryUpload(agent_version="1", targets=())),
            ):
                assert await _call(c, pending, "POST", path, p.encode(msg)) == 403

            # neither the pending agent nor an approved agent that was not asked takes the request
            for attacker in (pending, other):
                body, _ = _csr_upload(req.id)
                assert await _call(c, attacker, "POST", p.PATH_CSR, body) == 403
                assert (await _request(db, req.id)).status == "draft"
            # nor may the asked agent hand a CSR to a request that is not key-on-agent
            await arun_cli(
                ["definition", "new", "--home", str(c.home), "--name", "plain", "--cn", CN]
            )
            plain = await arun_cli(["request", "new", "plain", "--home", str(c.home), "--json"])
            assert plain.code == 0, plain.err
            body, _ = _csr_upload(plain.json()["id"])
            assert await _call(c, victim, "POST", p.PATH_CSR, body) == 403

            # the asked agent's CSR is taken, once
            assert await _call(c, victim, "GET", p.work_path(0)) == 200
            body, pub = _csr_upload(req.id)
            assert await _call(c, victim, "POST", p.PATH_CSR, body) == 200
            done = await _request(db, req.id)
            assert done.status not in ("draft", "key-and-csr")
            async with db.reader() as s:
                d = (
                    await s.execute(
                        select(CertificateDefinition).where(CertificateDefinition.name == "victim")
                    )
                ).scalar_one()
                current = await s.get(Certificate, d.current_certificate_id)
                assert current is not None
            from cryptography import x509

            issued = x509.load_der_x509_certificate(current.der)
            assert public_key_sha256(issued.public_key()) == pub  # type: ignore[arg-type]
            again, _ = _csr_upload(req.id)
            assert await _call(c, victim, "POST", p.PATH_CSR, again) in (403, 409)
            async with db.reader() as s:
                d2 = await s.get(CertificateDefinition, d.id)
                assert d2 is not None and d2.current_certificate_id == current.id
                refused = (
                    (
                        await s.execute(
                            select(AuditEvent).where(AuditEvent.action == "agent.csr-refused")
                        )
                    )
                    .scalars()
                    .all()
                )
            assert len(refused) >= 3  # pending, other, and the plain request: recorded
        finally:
            await db.dispose()


async def test_an_enrolment_token_enrols_one_agent_even_when_raced(home: Path) -> None:
    """Sibling: two enrolments with the same token at once make one agent, not two."""
    settings_home = home
    from certmgr.controller.settings import load_settings

    settings = load_settings(settings_home)
    vault = read_master_key(settings.master_key_path)
    db = Database(settings.database_url)
    clock = SystemClock()
    try:
        token = p.parse_token(
            await create_enrollment_token(
                db, ADMIN, clock, controller_url="https://127.0.0.1:1", ca_sha256="00" * 32
            )
        )

        async def one(name: str) -> object:
            try:
                return await enroll(
                    db,
                    vault,
                    p.EnrollRequest(
                        token_secret=token.secret,
                        agent_name=name,
                        hostname=name,
                        agent_version="test",
                        x25519_public_key=bytes(nacl.public.PrivateKey.generate().public_key),
                        ed25519_public_key=bytes(nacl.signing.SigningKey.generate().verify_key),
                    ),
                    clock,
                    address="127.0.0.1",
                )
            except PermissionDeniedError as err:
                return err

        results = await asyncio.gather(*(one(f"racer{i}") for i in range(4)))
        assert sum(not isinstance(r, PermissionDeniedError) for r in results) == 1
        async with db.reader() as s:
            rows = (await s.execute(select(EnrollmentToken))).scalars().all()
            assert len(rows) == 1 and rows[0].used_at is not None
            refused = (
                (
                    await s.execute(
                        select(AuditEvent).where(AuditEvent.action == "agent.enroll-refused")
                    )
                )
                .scalars()
                .all()
            )
            # each refusal is recorded, not rolled back: counted per source and minute, the
            # first one audited (a flood of guesses cannot flood the audit log)
            assert len(refused) == 1
            counted = (await s.execute(select(func.sum(AccessRefusal.count)))).scalar_one()
            assert counted == 3
    finally:
        await db.dispose()


async def test_an_agent_cannot_settle_another_agents_deployment(home: Path, tmp_path: Path) -> None:
    """Sibling: a report or inventory names only the sender's own work and deployments."""
    from certmgr.controller.db.models import AgentWork, Deployment
    from certmgr.controller.services.agents.work import queue_install
    from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
    from tests.factories.pki import make_pki

    files = make_pki(["localhost"]).write(tmp_path / "pki")
    res = await arun_cli(
        ["import", "--home", str(home), str(files["fullchainA.pem"]), "--key",
         str(files["leafA.key"]), "--name", "web"]
    )  # fmt: skip
    assert res.code == 0, res.err
    async with console_client(home) as c:
        vault = read_master_key(c.settings.master_key_path)
        db = Database(c.settings.database_url)
        try:
            victim = await _enroll(db, vault, "victim", auto_approve=True)
            other = await _enroll(db, vault, "other", auto_approve=True)
            dep = await create_deployment(
                db,
                ADMIN,
                DeploymentSpec(
                    definition_ref="web", server_name="www1", software="files",
                    delivery="agent", agent_id=int(victim.agent_id),
                ),
                SystemClock(),
            )  # fmt: skip
            queued = await queue_install(db, vault, ADMIN, dep.id, SystemClock())
            forged = p.Report(
                deployment_id=dep.id, sequence=queued.sequence, ok=True, installed_sha256="ab" * 32
            )
            assert await _call(c, other, "POST", p.PATH_REPORT, p.encode(forged)) == 200
            async with db.reader() as s:
                row = await s.get(Deployment, dep.id)
                assert row is not None and row.status == "install-requested"
                work = (
                    await s.execute(select(AgentWork).where(AgentWork.deployment_id == dep.id))
                ).scalar_one()
                assert work.state in ("queued", "delivered")
        finally:
            await db.dispose()
