"""Agents discover too: a real agent process scans its own host (nginx on loopback, which the
controller's scope does not cover) and sends the TLS listeners to a real controller, which judges
and matches them like its own results, marked with the agent as their source.
"""

from __future__ import annotations

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
