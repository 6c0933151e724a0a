"""Agents discover too: a real agent process scans its own host (nginx on loopback, which the
controller's scope does not cover) and sends the TLS listeners to a real controller, which judges
and matches them like its own results, marked with the agent as their source.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from certmgr.shared.errors import ValidationError
from certmgr.shared.protocol import DiscoveredListener, DiscoveryUpload, decode, encode
from tests.factories.controller_proc import Controller
from tests.factories.homes import run_cli
from tests.factories.pki import make_pki
from tests.factories.servers import NginxServer
from tests.factories.waiting import wait_for


def _agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certmgr.agent", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_agent_reports_its_tls_listeners(tmp_path: Path, controller: Controller) -> None:
    home = str(controller.home)
    pki = make_pki(["localhost", "127.0.0.1"])
    files = pki.write(tmp_path / "pki")
    conf = tmp_path / "agent.toml"
    conf.write_text(f'state_dir = "{tmp_path / "agent-state"}"\nagent_name = "web01"\n')
    token = run_cli(["agent-token", "--home", home, "--name", "web01"]).out.strip()
    r = _agent("enroll", "--token", token, "--config", str(conf))
    assert r.returncode == 0, r.stdout + r.stderr
    with NginxServer(tmp_path / "ngx", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx:
        r = _agent("discover", "--ports", f"{ngx.port},1", "--config", str(conf), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"sent": true' in r.stdout
    scans = run_cli(["discovery", "list", "--home", home, "--json"]).json()
    (scan,) = scans
    assert scan["source"].startswith("agent:") and scan["state"] == "done"
    assert scan["open_endpoints"] >= 1
    shown = run_cli(["discovery", "show", str(scan["id"]), "--home", home, "--json"]).json()
    mine = [x for x in shown["results"] if x["address"] == "127.0.0.1" and x["port"] == ngx.port]
    (result,) = mine
    assert result["source"] == scan["source"] and result["common_name"] == "leaf-A"
    assert result["match"] == "unknown" and "untrusted" in [v["rule"] for v in result["violations"]]
    # merged with the controller's results: importable like any other
    done = run_cli(["discovery", "import", str(result["id"]), "--home", home, "--json"]).json()
    assert done[0]["created_certificate"]


def test_a_running_agent_discovers_its_host_on_its_own(
    tmp_path: Path, controller: Controller
) -> None:
    """``certmgr-agent run`` scans its own host every ``discovery_interval`` without being asked."""
    home = str(controller.home)
    pki = make_pki(["localhost", "127.0.0.1"])
    files = pki.write(tmp_path / "pki")
    with NginxServer(tmp_path / "ngx", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx:
        conf = tmp_path / "agent.toml"
        conf.write_text(
            f'state_dir = "{tmp_path / "agent-state"}"\nagent_name = "web02"\n'
            f'discovery_interval = 2\ndiscovery_ports = "{ngx.port}"\n'
        )
        token = run_cli(["agent-token", "--home", home, "--name", "web02"]).out.strip()
        r = _agent("enroll", "--token", token, "--config", str(conf))
        assert r.returncode == 0, r.stdout + r.stderr
        log = tmp_path / "agent.log"
        with log.open("wb") as out:
            agent = subprocess.Popen(
                [sys.executable, "-m", "certmgr.agent", "run", "--config", str(conf)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:

            def agent_scans() -> list[dict[str, object]]:
                assert agent.poll() is None, log.read_text()
                scans = run_cli(["discovery", "list", "--home", home, "--json"]).json()
                return [x for x in scans if str(x["source"]).startswith("agent:")]

            scans = wait_for(agent_scans, timeout=90, interval=1, what="the agent's own scan")
        finally:
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(30) == 0, log.read_text()
    assert scans[0]["state"] == "done" and scans[0]["open_endpoints"] == 1
    assert "discovery: sent 1 TLS listeners" in log.read_text()


def test_discovery_upload_round_trip_and_strictness() -> None:
    upload = DiscoveryUpload(
        agent_version="1.0",
        ports=(443,),
        addresses=("127.0.0.1",),
        listeners=(
            DiscoveredListener(address="127.0.0.1", port=443, outcome="tls", chain=(b"\x30\x00",)),
        ),
    )
    assert decode(DiscoveryUpload, encode(upload)) == upload
    bad = (
        encode(upload)
        .replace(b'"port":443', b'"port":70000')
        .replace(b'"port": 443', b'"port": 70000')
    )
    assert bad != encode(upload)
    with pytest.raises(ValidationError) as err:
        decode(DiscoveryUpload, bad)
    assert "port" in str(err.value)
