"""Issue 12, finding 7: the agent pins the controller's own key, not just its private CA.

The private CA also issues every definition's certificate, so whoever holds one of those keys
can present a valid leaf. The real agent (enrolment, client and run loop) must:

* refuse a server whose certificate does not name the host it connects to;
* ignore ``revoked: true`` from a server with a leaf of the same CA, whether unsigned, signed by
  another key, or a genuine signed answer replayed to another request (it keeps running);
* refuse to enrol when the controller key does not match the token;
* follow a key rotation announced by the old key (``certmgr agent rotate-key``) end to end with
  the real controller: it installs a package signed by the new key, pins the new key, and stops
  on the controller's (new-key) signed ``revoked``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import nacl.signing
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from certmgr.agent.client import ControllerClient, RequestSigner, pinned_ssl_context
from certmgr.agent.enroll import enroll
from certmgr.agent.identity import ControllerPin
from certmgr.agent.runner import Runner
from certmgr.agent.settings import AgentSettings, load_settings
from certmgr.agent.state import AgentState
from certmgr.controller.app import create_app
from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.server import ca_sha256, console_ssl_context
from certmgr.controller.services.agents.enrolment import create_enrollment_token
from certmgr.controller.settings import load_settings as controller_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared import exitcodes
from certmgr.shared import protocol as p
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import PermissionDeniedError, TemporaryUpstreamError
from certmgr.shared.pki import sha256_fingerprint
from tests.factories.fake_controller import FakeController
from tests.factories.homes import amake_home, arun_cli
from tests.factories.pki import make_leaf, make_pki, write_pem
from tests.factories.postgres import free_port

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")


def _agent_settings(root: Path, out: Path) -> AgentSettings:
    out.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    config = root / "agent.toml"
    config.write_text(
        f"""
state_dir = "{root / "state"}"
agent_name = "web01"
max_backoff = 0.3
request_timeout = 5
poll_wait = 1
inventory_interval = 30

[targets.web]
type = "files"
allowed_paths = ["{out}"]
cert_path = "{out / "cert.pem"}"
key_path = "{out / "key.pem"}"
chain_path = "{out / "chain.pem"}"
"""
    )
    return load_settings(config, env={})


@pytest.fixture
async def controller(tmp_path: Path) -> AsyncIterator[FakeController]:
    fake = FakeController(tmp_path / "controller", poll_wait=1)
    await fake.start()
    yield fake
    await fake.stop()


def _impostor(real: FakeController, folder: Path, names: tuple[str, ...]) -> FakeController:
    """A server on the real one's port with a leaf of the *same* CA and the same agents."""
    rogue = FakeController(folder, poll_wait=1)
    key, cert = make_leaf(real.ca_key, real.ca_cert, "impostor", names)
    rogue.ca_key, rogue.ca_cert = real.ca_key, real.ca_cert
    rogue.cert_file = write_pem(folder / "rogue.pem", cert, real.ca_cert)
    rogue._key_file = write_pem(folder / "rogue.key", key)  # noqa: SLF001 - the harness's own field
    rogue.port = real.port
    rogue.agents = real.agents
    return rogue


async def _runs_on(settings: AgentSettings, seconds: float) -> int | None:
    """Run the real agent for ``seconds``; its exit code if it stopped by itself, else None."""
    runner = Runner(settings)
    task = asyncio.create_task(runner.run(handle_signals=False))
    done, _ = await asyncio.wait({task}, timeout=seconds)
    runner.stop()
    async with asyncio.timeout(10):
        code = await task
    return code if done else None


async def test_a_leaf_of_the_same_ca_cannot_impersonate_the_controller(
    tmp_path: Path, controller: FakeController
) -> None:
    settings = _agent_settings(tmp_path / "agent", tmp_path / "www")
    await enroll(settings, p.parse_token(controller.make_token()))
    enrollment = AgentState(settings.state_dir).load_enrollment()
    pinned = bytes(enrollment.controller_verify_key)
    await controller.stop()

    # 1. a leaf of the same CA for another name: the TLS host name check refuses it
    wrong_name = _impostor(controller, tmp_path / "r1", ("www.example.test",))
    await wrong_name.start()
    try:
        connector = aiohttp.TCPConnector(ssl=pinned_ssl_context(enrollment.ca_pem))
        async with aiohttp.ClientSession(connector=connector) as session:
            client = ControllerClient(
                session,
                enrollment.controller_url,
                RequestSigner(enrollment.agent_id, enrollment.ed25519, SystemClock()),
                pin=ControllerPin(enrollment.controller_verify_key),
            )
            with pytest.raises(TemporaryUpstreamError):
                await client.work(0)
        assert wrong_name.work_polls == 0
    finally:
        await wrong_name.stop()

    # 2. a leaf of the same CA for the right name, answering "revoked": unsigned, signed by
    #    another key, or a genuine signed answer replayed: the agent keeps running
    for answer_key in (None, nacl.signing.SigningKey.generate()):
        rogue = _impostor(controller, tmp_path / f"r2-{answer_key is None}", ("127.0.0.1",))
        rogue.answer_key = answer_key
        rogue.revoke()
        await rogue.start()
        try:
            assert await _runs_on(settings, 2.0) is None
            assert rogue.work_polls >= 1
        finally:
            await rogue.stop()
        status = AgentState(settings.state_dir).read_status()
        assert "not signed by the pinned controller key" in status.last_error
    # a genuine answer (signed by the real key) for one request, replayed to the next ones
    captured: list[tuple[dict[str, str], bytes]] = []
    controller.revoke()
    await controller.start()
    try:
        connector = aiohttp.TCPConnector(ssl=pinned_ssl_context(enrollment.ca_pem))
        async with aiohttp.ClientSession(connector=connector) as session:
            signer = RequestSigner(enrollment.agent_id, enrollment.ed25519, SystemClock())
            path = p.work_path(0)
            async with session.get(
                controller.url + path, headers=signer.sign("GET", path, b"")
            ) as resp:
                captured.append((dict(resp.headers), await resp.read()))
    finally:
        await controller.stop()
    assert json.loads(captured[0][1])["revoked"] is True

    async def replay(request: web.Request) -> web.Response:
        headers, body = captured[0]
        keep = {k: v for k, v in headers.items() if k.lower().startswith("x-certmgr")}
        return web.Response(body=body, content_type="application/json", headers=keep)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", replay)
    replayer = _impostor(controller, tmp_path / "r3", ("127.0.0.1",))
    runner = web.AppRunner(app, shutdown_timeout=0.2, handle_signals=False)
    await runner.setup()
    import ssl

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(replayer.cert_file, replayer._key_file)  # noqa: SLF001
    site = web.TCPSite(runner, "127.0.0.1", controller.port, ssl_context=tls)
    await site.start()
    try:
        assert await _runs_on(settings, 2.0) is None
    finally:
        await runner.cleanup()
    # nothing rotated the pin, and the agent was never marked revoked
    assert bytes(AgentState(settings.state_dir).load_enrollment().controller_verify_key) == pinned


async def test_enrolment_refuses_a_controller_key_the_token_does_not_name(
    tmp_path: Path, controller: FakeController
) -> None:
    settings = _agent_settings(tmp_path / "agent", tmp_path / "www")
    token = controller.make_token(controller_key_sha256="ab" * 32)
    with pytest.raises(PermissionDeniedError, match="controller key"):
        await enroll(settings, p.parse_token(token))
    assert not AgentState(settings.state_dir).is_enrolled()
    # a token that names no controller key is refused before anything is sent
    with pytest.raises(Exception, match="does not name the controller's key"):
        await enroll(settings, p.parse_token(controller.make_token(controller_key_sha256="")))
    assert not AgentState(settings.state_dir).is_enrolled()


async def test_rotation_is_followed_by_the_real_agent(tmp_path: Path) -> None:
    port = free_port()
    home = await amake_home(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", listen=f"127.0.0.1:{port}"
    )
    pki = make_pki(["localhost", "127.0.0.1"])
    files = pki.write(tmp_path / "pki")
    res = await arun_cli(
        ["import", "--home", str(home), str(files["fullchainA.pem"]), "--key",
         str(files["leafA.key"]), "--name", "web"]
    )  # fmt: skip
    assert res.code == 0, res.err
    settings = controller_settings(home)
    vault = read_master_key(settings.master_key_path)
    app = create_app(settings, vault)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server(ssl=console_ssl_context(settings, vault))
    db = Database(settings.database_url)
    try:
        token = await create_enrollment_token(
            db,
            ADMIN,
            SystemClock(),
            controller_url=f"https://127.0.0.1:{port}",
            ca_sha256=ca_sha256(settings),
            vault=vault,
        )
        agent = _agent_settings(tmp_path / "agent", tmp_path / "www")
        enrolled = await enroll(agent, p.parse_token(token))
        first_key = bytes(enrolled.controller_verify_key)

        rotated = await arun_cli(["agent", "rotate-key", "--home", str(home), "--json"])
        assert rotated.code == 0, rotated.err
        new_sha = rotated.json()["new_sha256"]
        assert new_sha != p.controller_key_sha256(first_key)

        dep = await arun_cli(
            ["deployment", "new", "web", "--home", str(home), "--server", "localhost",
             "--software", "files", "--delivery", "agent", "--agent", enrolled.agent_id,
             "--check", f"127.0.0.1:{free_port()}", "--no-monitoring", "--json",
             "--param", "agent_target=web"]
        )  # fmt: skip
        assert dep.code == 0, dep.err
        runner = Runner(agent)
        task = asyncio.create_task(runner.run(handle_signals=False))
        try:
            installed = await arun_cli(
                ["deployment", "install", str(dep.json()["id"]), "--home", str(home)]
            )
            assert installed.code == 0, installed.err
            cert = tmp_path / "www" / "cert.pem"
            async with asyncio.timeout(30):
                while not cert.exists():
                    await asyncio.sleep(0.1)
            from cryptography import x509

            assert sha256_fingerprint(
                x509.load_pem_x509_certificates(cert.read_bytes())[0]
            ) == sha256_fingerprint(pki.leaf_a)
            pinned = AgentState(agent.state_dir).load_enrollment().controller_verify_key
            assert p.controller_key_sha256(pinned) == new_sha
            # the controller's own (new-key) signed "revoked" still stops the agent
            assert (
                await arun_cli(["agent", "revoke", enrolled.agent_id, "--home", str(home)])
            ).code == 0
            async with asyncio.timeout(30):
                assert await task == exitcodes.NOT_ALLOWED
        finally:
            runner.stop()
            async with asyncio.timeout(10):
                await asyncio.wait({task})
    finally:
        await db.dispose()
        await server.close()
