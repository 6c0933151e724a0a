"""The command line: status after an install, the manual TLS check, exit codes."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from certmgr.agent.check import run_check, split_address
from certmgr.agent.cli import main
from certmgr.agent.settings import AgentSettings
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import sha256_fingerprint
from tests.factories.fake_controller import FakeController
from tests.factories.pki import TestPki

from .conftest import Site, running


def _served(controller: FakeController) -> str:
    return sha256_fingerprint(controller.server_cert)


async def test_status_shows_enrolment_targets_and_fingerprints(
    enrolled: AgentSettings,
    controller: FakeController,
    site: Site,
    pki: TestPki,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with running(enrolled):
        controller.push(
            controller.seal(deployment_id=1, sequence=1, certificate=pki.leaf_a, key=pki.leaf_a_key)
        )
        await controller.wait_for(lambda: controller.reports)
    assert main(["status", "--config", str(site.config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["enrolled"] and report["agent_id"] == "1"
    assert report["controller_ca_sha256"] == controller.ca_sha256
    assert report["last_contact"] is not None
    (web,) = report["targets"]
    assert web["availability"] == "ready"
    assert web["installed"][0]["sha256"] == sha256_fingerprint(pki.leaf_a)
    assert main(["status", "--config", str(site.config)]) == 0
    text = capsys.readouterr().out
    assert "agent id:        1" in text and sha256_fingerprint(pki.leaf_a) in text
    assert "PRIVATE" not in text


def test_status_when_not_enrolled(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(site.config)]) == 6
    assert "not enrolled" in capsys.readouterr().out


def test_errors_become_exit_codes(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["enroll", "--token", "garbage", "--config", str(site.config)]) == 2
    assert "enrolment token" in capsys.readouterr().err
    assert main(["run", "--config", str(site.config)]) == 6
    assert "not enrolled" in capsys.readouterr().err


async def test_check_judges_what_a_server_serves(controller: FakeController) -> None:
    ok = await run_check(controller.url[8:], expect=_served(controller), sni="localhost")
    assert ok["ok"], ok["lines"]
    wrong = await run_check(controller.url[8:], expect="ab" * 32, sni="localhost")
    assert not wrong["ok"] and "CHECK FAILED" in wrong["lines"][-1]
    plain = await run_check(controller.url[8:])
    assert plain["ok"] and plain["served_sha256"] == _served(controller)
    down = await run_check("127.0.0.1:9", timeout=2)
    assert not down["ok"] and down["result"] == "unreachable"
    assert down["lines"][-1].startswith("unreachable: ")


async def test_check_command_exit_code(controller: FakeController) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "certmgr.agent",
        "check",
        controller.url[8:],
        "--sni",
        "localhost",
        "--expect",
        _served(controller),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, out
    assert b"OK: the expected certificate is served" in out


def test_split_address() -> None:
    assert split_address("example.net") == ("example.net", 443)
    assert split_address("example.net:8443") == ("example.net", 8443)
    assert split_address("[::1]:8443") == ("::1", 8443)
    assert split_address("[::1]") == ("::1", 443)
    for bad in ("", ":80", "host:http", "host:70000"):
        with pytest.raises(ValidationError):
            split_address(bad)
