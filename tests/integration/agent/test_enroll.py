"""Enrolment against the fake controller: CA pinning from the token, keys, state files."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest

from certmgr.agent.enroll import enroll, fetch_pinned_ca
from certmgr.agent.settings import AgentSettings
from certmgr.agent.state import AgentState
from certmgr.shared.errors import ConflictError, InputError, PermissionDeniedError
from certmgr.shared.protocol import parse_token
from tests.factories.fake_controller import FakeController


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_enrol_pins_the_token_ca_and_keeps_private_keys_home(
    settings: AgentSettings, controller: FakeController
) -> None:
    done = await enroll(settings, parse_token(controller.make_token()))
    agent = controller.agent(done.agent_id)
    assert agent.name == "web01"
    assert bytes(agent.x25519) == bytes(done.x25519.public_key)
    assert bytes(agent.verify_key) == bytes(done.ed25519.verify_key)
    assert done.ca_pem == controller.ca_pem and done.ca_sha256 == controller.ca_sha256
    # the enrolment carried the local targets, and no private key material
    (request,) = controller.enrollments
    assert [t.name for t in request.targets] == ["web"]
    body = b"".join(controller.raw_bodies)
    assert bytes(done.x25519) not in body and bytes(done.ed25519) not in body
    # state: directory 0700, every file 0600, and it loads back
    state_dir = settings.state_dir
    assert _mode(state_dir) == 0o700
    files = sorted(p.name for p in state_dir.iterdir())
    assert "enrollment.json" in files and "agent-x25519.key" in files
    assert all(_mode(state_dir / f) == 0o600 for f in files)
    loaded = AgentState(state_dir).load_enrollment()
    assert loaded.agent_id == done.agent_id
    assert bytes(loaded.ed25519) == bytes(done.ed25519)
    assert "SigningKey" not in repr(loaded) and "PrivateKey" not in repr(loaded)


async def test_wrong_fingerprint_in_token_is_refused_and_nothing_is_written(
    settings: AgentSettings, controller: FakeController
) -> None:
    token = parse_token(controller.make_token(ca_sha256="ab" * 32))
    with pytest.raises(PermissionDeniedError, match="not the one the token pins"):
        await enroll(settings, token)
    assert not settings.state_dir.exists()
    assert controller.agents == {} and controller.enrollments == []


async def test_refused_token_writes_nothing(
    settings: AgentSettings, controller: FakeController
) -> None:
    token = parse_token(controller.make_token())
    controller.tokens.clear()  # the controller no longer knows it
    with pytest.raises(PermissionDeniedError, match="403"):
        await enroll(settings, token)
    assert not settings.state_dir.exists()


async def test_expired_token_is_refused_locally(
    settings: AgentSettings, controller: FakeController
) -> None:
    token = parse_token(controller.make_token(ttl=-5))
    with pytest.raises(InputError, match="expired"):
        await enroll(settings, token)
    assert controller.raw_bodies == []


async def test_second_enrolment_needs_force(
    enrolled: AgentSettings, controller: FakeController
) -> None:
    with pytest.raises(ConflictError):
        await enroll(enrolled, parse_token(controller.make_token()))
    again = await enroll(enrolled, parse_token(controller.make_token()), force=True)
    assert AgentState(enrolled.state_dir).load_enrollment().agent_id == again.agent_id == "2"


async def test_pinned_connection_refuses_a_controller_with_another_ca(
    settings: AgentSettings, controller: FakeController, tmp_path: Path
) -> None:
    impostor = FakeController(tmp_path / "impostor")
    await impostor.start()
    try:
        # The token names the real CA; the impostor serves its own: refused before any POST.
        token = parse_token(controller.make_token(url=impostor.url))
        with pytest.raises(PermissionDeniedError):
            await enroll(settings, token)
        assert impostor.enrollments == []
        # And the --controller URL overrides the token's.
        done = await enroll(dataclasses.replace(settings), token, controller_url=controller.url)
        assert done.controller_url == controller.url
    finally:
        await impostor.stop()


async def test_fetch_pinned_ca_keeps_only_the_named_certificate(
    controller: FakeController,
) -> None:
    pem = await fetch_pinned_ca(controller.url, controller.ca_sha256)
    assert pem == controller.ca_pem
