"""One real agent process with an Apache, an HAProxy and a Java keystore target: one bulk auto-install
from a real controller puts the new certificate into each (served, or listed by keytool)."""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
from pathlib import Path

from certmgr.shared.pki import sha256_fingerprint
from tests.conftest import require_tool
from tests.factories.controller_proc import Controller
from tests.factories.controller_proc import wait_until as _wait
from tests.factories.homes import run_cli
from tests.factories.pki import make_pki
from tests.factories.servers import ApacheServer, HaproxyServer, wait_for_leaf


def _confirmed(home: str, dep: int) -> bool:
    shown = run_cli(["deployment", "show", str(dep), "--home", home, "--json"]).json()
    return bool(shown["status"] == "confirmed")


def test_apache_haproxy_keystore_through_agent(tmp_path: Path, controller: Controller) -> None:
    pki = make_pki(["localhost", "127.0.0.1"])
    files = pki.write(tmp_path / "pki")
    home = str(controller.home)
    assert (
        run_cli(
            [
                "import",
                "--home",
                home,
                str(files["fullchainA.pem"]),
                "--key",
                str(files["leafA.key"]),
                "--name",
                "web",
            ]
        ).code
        == 0
    )
    token = run_cli(["token", "create", "--user", "admin", "--home", home]).out.strip()
    ks = tmp_path / "tomcat" / "keystore.jks"
    ks.parent.mkdir()
    with (
        ApacheServer(
            tmp_path / "apache", cert=files["fullchainB.pem"], key=files["leafB.key"]
        ) as apache,
        HaproxyServer(tmp_path / "haproxy", combined=files["combinedB.pem"]) as haproxy,
    ):
        conf = tmp_path / "agent.toml"
        conf.write_text(f'''state_dir = "{tmp_path / "state"}"
poll_wait = 5
max_backoff = 2
[targets.apache]
type = "apache"
allowed_paths = ["{apache.cert_path}", "{apache.key_path}"]
cert_path = "{apache.cert_path}"
key_path = "{apache.key_path}"
apache_binary = "{apache.binary}"
config_file = "{apache.conf_path}"
server_root = "{apache.prefix}"
[targets.haproxy]
type = "haproxy"
allowed_paths = ["{haproxy.combined_path}"]
pem_path = "{haproxy.combined_path}"
config_file = "{haproxy.conf_path}"
haproxy_binary = "{haproxy.binary}"
master_pid_file = "{haproxy.pid_path}"
[targets.tomcat]
type = "java-keystore"
allowed_paths = ["{ks}"]
keystore_path = "{ks}"
keystore_type = "jks"
alias = "tomcat"
store_password = "changeit-123"
''')
        enroll = run_cli(["agent-token", "--home", home]).out.strip()
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "certmgr.agent",
                "enroll",
                "--token",
                enroll,
                "--config",
                str(conf),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        agent_id = run_cli(["agent", "list", "--home", home, "--json"]).json()[0]["id"]
        log = (tmp_path / "agent.log").open("wb")
        agent = subprocess.Popen(
            [sys.executable, "-m", "certmgr.agent", "run", "--config", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            ids = []
            for label, software, port in (
                ("apache", "apache", apache.port),
                ("haproxy", "haproxy", haproxy.port),
                ("tomcat", "tomcat", 1),
            ):
                res = run_cli(
                    [
                        "deployment",
                        "new",
                        "web",
                        "--home",
                        home,
                        "--server",
                        "localhost",
                        "--software",
                        software,
                        "--delivery",
                        "agent",
                        "--agent",
                        str(agent_id),
                        "--check",
                        f"127.0.0.1:{port}",
                        "--sni",
                        "localhost",
                        "--json",
                        "--param",
                        f"agent_target={label}",
                    ]
                    + (["--no-monitoring"] if label == "tomcat" else [])
                )
                assert res.code == 0, res.err
                ids.append(res.json()["id"])
            controller.api("POST", "/api/v1/deployments/bulk/install", token, {"deployments": ids})
            leaf = sha256_fingerprint(pki.leaf_a)
            assert wait_for_leaf("127.0.0.1", apache.port, leaf, timeout=30)
            assert wait_for_leaf("127.0.0.1", haproxy.port, leaf, timeout=30)
            _wait(ks.exists, timeout=30)
            listing = subprocess.run(
                [
                    require_tool("keytool"),
                    "-list",
                    "-v",
                    "-keystore",
                    str(ks),
                    "-storepass",
                    "changeit-123",
                    "-storetype",
                    "JKS",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert "Alias name: tomcat" in listing and "leaf-A" in listing
            for dep in ids[:2]:
                _wait(functools.partial(_confirmed, home, dep), timeout=30)
            assert (
                apache.proc is not None and apache.proc.poll() is None
            )  # Apache survived its graceful reload
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(15)
            log.close()
    assert "Traceback" not in (tmp_path / "agent.log").read_text()
