"""The state directory: atomic 0600 files, enrolment round trip, sequences, generated keys."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import nacl.public
import nacl.signing
import pytest

from certmgr.agent.state import AgentState, AgentStatus, Enrollment, GeneratedKey
from certmgr.shared.errors import ConfigurationError, ConflictError
from certmgr.shared.pki import generate_private_key, public_key_sha256

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _enrollment() -> Enrollment:
    return Enrollment(
        agent_id="7",
        controller_url="https://ctl:1",
        ca_pem=b"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
        ca_sha256="ab" * 32,
        controller_verify_key=nacl.signing.SigningKey.generate().verify_key,
        x25519=nacl.public.PrivateKey.generate(),
        ed25519=nacl.signing.SigningKey.generate(),
        poll_wait=25,
        enrolled_at=NOW,
    )


def test_enrollment_round_trip_with_private_modes(tmp_path: Path) -> None:
    state = AgentState(tmp_path / "state")
    assert not state.is_enrolled()
    with pytest.raises(ConfigurationError, match="not enrolled"):
        state.load_enrollment()
    e = _enrollment()
    state.save_enrollment(e)
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    for f in (tmp_path / "state").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert not [f for f in (tmp_path / "state").iterdir() if "tmp" in f.name]
    back = state.load_enrollment()
    assert (back.agent_id, back.ca_pem, back.poll_wait) == (e.agent_id, e.ca_pem, 25)
    assert bytes(back.x25519) == bytes(e.x25519) and bytes(back.ed25519) == bytes(e.ed25519)
    assert bytes(back.controller_verify_key) == bytes(e.controller_verify_key)
    assert "x25519" not in repr(back) and "ed25519" not in repr(back)


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    state = AgentState(tmp_path)
    state.save_enrollment(_enrollment())
    os.chmod(tmp_path / "agent-ed25519.key", 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        state.load_enrollment()


def test_damaged_enrollment_is_a_configuration_error(tmp_path: Path) -> None:
    state = AgentState(tmp_path)
    state.save_enrollment(_enrollment())
    (tmp_path / "enrollment.json").write_text("{}")
    with pytest.raises(ConfigurationError, match="damaged"):
        state.load_enrollment()


def test_sequences_never_go_down(tmp_path: Path) -> None:
    state = AgentState(tmp_path)
    assert state.installed_sequence(4) is None
    state.record_sequence(4, 9)
    state.record_sequence(4, 3)
    state.record_sequence(5, 1)
    assert (state.installed_sequence(4), state.installed_sequence(5)) == (9, 1)


def test_generated_keys_are_found_by_public_key(tmp_path: Path) -> None:
    state = AgentState(tmp_path)
    key = generate_private_key("ec-p256")
    fp = public_key_sha256(key)
    record = GeneratedKey("req-1", fp, "CSR", NOW)
    state.save_generated(record, key)
    assert state.generated("req-1") == record
    assert state.generated("req-2") is None
    found = state.find_generated_key(fp)
    assert found is not None and public_key_sha256(found) == fp
    assert state.find_generated_key("cd" * 32) is None
    assert stat.S_IMODE((tmp_path / "keys" / "req-1.key").stat().st_mode) == 0o600
    with pytest.raises(ConfigurationError):
        state.generated("../../etc/passwd")


def test_status_and_target_params(tmp_path: Path) -> None:
    state = AgentState(tmp_path)
    assert state.read_status() == AgentStatus()
    state.write_status(AgentStatus(last_contact=NOW, last_error="boom", last_error_at=NOW))
    assert state.read_status().last_error == "boom"
    state.remember_target_params("web", {"cert_path": "/x"})
    assert state.target_params("web") == {"cert_path": "/x"} and state.target_params("no") == {}


def test_one_runner_per_state_directory(tmp_path: Path) -> None:
    state = AgentState(tmp_path)
    fd = state.acquire_run_lock()
    try:
        with pytest.raises(ConflictError):
            AgentState(tmp_path).acquire_run_lock()
    finally:
        state.release_run_lock(fd)
    state.release_run_lock(state.acquire_run_lock())
