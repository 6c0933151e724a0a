"""Issue 7 end to end with real processes: a controller (`certmgr serve`), an agent (`certmgr-agent run`)
and a real nginx on loopback. Try auto-install puts the new certificate into nginx and the deployment
becomes confirmed by a real TLS check; a failing validation rolls back; a restarted controller and a
revoked agent are handled."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from pathlib import Path

from certmgr.agent.state import AgentState
from certmgr.shared.pki import sha256_fingerprint
from tests.factories.controller_proc import Controller
from tests.factories.controller_proc import wait_until as _wait
from tests.factories.homes import run_cli
from tests.factories.pki import make_pki
from tests.factories.postgres import free_port
from tests.factories.servers import NginxServer, served_leaf_sha256, wait_for_leaf


def test_auto_install_through_real_agent(tmp_path: Path, controller: Controller) -> None:
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
    with NginxServer(tmp_path / "ngx", cert=files["fullchainB.pem"], key=files["leafB.key"]) as ngx:
        # the agent: enrolled with a token, allowed to touch only nginx's two files
        state = tmp_path / "agent-state"
        conf = tmp_path / "agent.toml"
        conf.write_text(f'''state_dir = "{state}"
agent_name = "web01"
poll_wait = 5
max_backoff = 2
request_timeout = 15
[targets.web]
type = "nginx"
allowed_paths = ["{ngx.cert_path}", "{ngx.key_path}"]
cert_path = "{ngx.cert_path}"
key_path = "{ngx.key_path}"
nginx_binary = "{ngx.binary}"
prefix = "{ngx.prefix}"
conf = "{ngx.conf_path}"
[targets.internal]
type = "files"
allowed_paths = ["{tmp_path / "internal"}"]
fullchain_path = "{tmp_path / "internal" / "fullchain.pem"}"
key_path = "{tmp_path / "internal" / "key.pem"}"
''')
        enroll_token = run_cli(["agent-token", "--home", home, "--name", "web01"]).out.strip()
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "certmgr.agent",
                "enroll",
                "--token",
                enroll_token,
                "--config",
                str(conf),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        # a used token cannot enrol another agent
        r2 = subprocess.run(
            [
                sys.executable,
                "-m",
                "certmgr.agent",
                "enroll",
                "--token",
                enroll_token,
                "--config",
                str(tmp_path / "other.toml"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r2.returncode != 0
        agents = run_cli(["agent", "list", "--home", home, "--json"]).json()
        assert [a["status"] for a in agents] == ["approved"]
        agent_id = agents[0]["id"]
        agent_log = (tmp_path / "agent.log").open("wb")
        agent = subprocess.Popen(
            [sys.executable, "-m", "certmgr.agent", "run", "--config", str(conf)],
            stdout=agent_log,
            stderr=subprocess.STDOUT,
        )
        try:
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
                    "nginx",
                    "--delivery",
                    "agent",
                    "--agent",
                    str(agent_id),
                    "--check",
                    f"127.0.0.1:{ngx.port}",
                    "--sni",
                    "localhost",
                    "--json",
                    "--param",
                    "agent_target=web",
                ]
            )
            assert res.code == 0, res.err
            dep = res.json()["id"]

            # 1. a configuration that fails validation: rolled back, old certificate still served, failure reported
            good_conf = ngx.conf_path.read_text()
            ngx.conf_path.write_text(
                good_conf.replace("events {", "this_is_not_a_directive on;\nevents {", 1)
            )
            controller.api("POST", f"/api/v1/deployments/{dep}/install", token)
            _wait(
                lambda: any(
                    e["event"] == "install-failed"
                    for e in run_cli(
                        ["deployment", "show", str(dep), "--home", home, "--json"]
                    ).json()["history"]
                )
            )
            assert served_leaf_sha256("127.0.0.1", ngx.port) == sha256_fingerprint(pki.leaf_b)
            assert ngx.cert_path.read_bytes() == files["fullchainB.pem"].read_bytes()
            ngx.conf_path.write_text(good_conf)

            # 2. the controller restarts while the agent long-polls; the install then completes
            controller.stop()
            stopped = dt.datetime.now(dt.UTC)
            agent_state = AgentState(state)
            _wait(  # the agent has found the controller gone (and backs off) before it returns
                lambda: (
                    (at := agent_state.read_status().last_error_at) is not None and at >= stopped
                )
            )
            controller.start()
            controller.api("POST", f"/api/v1/deployments/{dep}/install", token)
            assert wait_for_leaf("127.0.0.1", ngx.port, sha256_fingerprint(pki.leaf_a), timeout=30)
            shown = _wait(
                lambda: (
                    (
                        d := run_cli(
                            ["deployment", "show", str(dep), "--home", home, "--json"]
                        ).json()
                    )["status"]
                    == "confirmed"
                    and d
                ),
                timeout=30,
            )
            assert shown["last_check"]["ok"] is True
            events = [e["event"] for e in shown["history"]]
            assert "installed" in events and events[0] == "confirmed"
            listed = run_cli(["agent", "list", "--home", home, "--json"]).json()[0]
            assert listed["targets"] and listed["targets"][0]["name"] == "web"

            # 3. key generation on the agent: the private key never leaves the server
            (tmp_path / "internal").mkdir()
            assert (
                run_cli(
                    [
                        "definition",
                        "new",
                        "--home",
                        home,
                        "--name",
                        "internal",
                        "--cn",
                        "internal.example.test",
                    ]
                ).code
                == 0
            )
            res = run_cli(
                ["request", "new", "internal", "--key-on-agent", str(agent_id), "--home", home]
            )
            assert res.code == 0, res.err
            _wait(
                lambda: (
                    run_cli(["request", "list", "--home", home, "--json"]).json()[-1]["status"]
                    == "done"
                ),
                timeout=40,
            )
            internal = run_cli(["definition", "show", "internal", "--home", home, "--json"]).json()
            key_id = internal["certificates"][0]["private_key_id"]
            res = run_cli(
                [
                    "deployment",
                    "new",
                    "internal",
                    "--home",
                    home,
                    "--server",
                    "internal.example.test",
                    "--software",
                    "files",
                    "--delivery",
                    "agent",
                    "--agent",
                    str(agent_id),
                    "--check",
                    f"127.0.0.1:{free_port()}",
                    "--no-monitoring",
                    "--json",
                    "--param",
                    "agent_target=internal",
                ]
            )
            assert res.code == 0, res.err
            controller.api("POST", f"/api/v1/deployments/{res.json()['id']}/install", token)
            _wait(lambda: (tmp_path / "internal" / "key.pem").exists(), timeout=40)
            from cryptography import x509
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import ec, rsa

            from certmgr.shared.pki import key_matches_certificate

            installed = x509.load_pem_x509_certificates(
                (tmp_path / "internal" / "fullchain.pem").read_bytes()
            )[0]
            assert sha256_fingerprint(installed) == internal["current"]["sha256"]
            installed_key = serialization.load_pem_private_key(
                (tmp_path / "internal" / "key.pem").read_bytes(), None
            )
            assert isinstance(installed_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
            assert key_matches_certificate(installed_key, installed)
            from tests.factories.homes import all_database_bytes

            der = serialization.load_pem_private_key(
                (tmp_path / "internal" / "key.pem").read_bytes(), None
            ).private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            assert der not in all_database_bytes(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
            assert key_id is not None

            # 4. a revoked agent is refused and stops
            run_cli(["agent", "revoke", str(agent_id), "--home", home])
            assert agent.wait(60) == 5
        finally:
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
                agent.wait(15)
            agent_log.close()
    assert "Traceback" not in (tmp_path / "agent.log").read_text()


def test_renewal_installs_by_itself_and_inventory_mismatch_raises_finding(
    tmp_path: Path, controller: Controller
) -> None:
    home = str(controller.home)
    assert (
        run_cli(
            ["definition", "new", "--home", home, "--name", "auto", "--cn", "auto.example.test"]
        ).code
        == 0
    )
    assert run_cli(["request", "new", "auto", "--wait", "--home", home]).code == 0
    out = tmp_path / "out"
    out.mkdir()
    conf = tmp_path / "agent.toml"
    conf.write_text(
        f'state_dir = "{tmp_path / "state"}"\npoll_wait = 3\nmax_backoff = 2\ninventory_interval = 2\n[targets.files]\ntype = "files"\nallowed_paths = ["{out}"]\nfullchain_path = "{out / "full.pem"}"\nkey_path = "{out / "key.pem"}"\n'
    )
    enroll = run_cli(["agent-token", "--home", home]).out.strip()
    assert (
        subprocess.run(
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
            timeout=60,
        ).returncode
        == 0
    )
    agent_id = run_cli(["agent", "list", "--home", home, "--json"]).json()[0]["id"]
    res = run_cli(
        [
            "deployment",
            "new",
            "auto",
            "--home",
            home,
            "--server",
            "auto.example.test",
            "--software",
            "files",
            "--delivery",
            "agent",
            "--agent",
            str(agent_id),
            "--check",
            f"127.0.0.1:{free_port()}",
            "--no-monitoring",
            "--json",
        ]
    )
    dep = res.json()["id"]
    agent = subprocess.Popen(
        [sys.executable, "-m", "certmgr.agent", "run", "--config", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        token = run_cli(["token", "create", "--user", "admin", "--home", home]).out.strip()
        controller.api("POST", f"/api/v1/deployments/{dep}/install", token)
        first = _wait(
            lambda: (out / "full.pem").read_bytes() if (out / "full.pem").exists() else b""
        )
        # a renewal (here by hand; the scheduler does the same) goes out to the agent without anyone asking
        controller.api("POST", "/api/v1/requests", token, {"definition": "auto"})
        _wait(lambda: (out / "full.pem").read_bytes() != first, timeout=40)
        current = run_cli(["definition", "show", "auto", "--home", home, "--json"]).json()[
            "current"
        ]["sha256"]
        from cryptography import x509

        assert (
            sha256_fingerprint(x509.load_pem_x509_certificates((out / "full.pem").read_bytes())[0])
            == current
        )
        _wait(
            lambda: (
                run_cli(["deployment", "show", str(dep), "--home", home, "--json"]).json()["status"]
                # nothing serves the check port: the install lands, the check cannot confirm it
                in ("installed", "confirmed", "check-failed")
            ),
            timeout=40,
        )
        # someone puts an old certificate back by hand: the agent's inventory raises a finding
        (out / "full.pem").write_bytes(first)
        _wait(
            lambda: any(
                f["kind"] == "agent-mismatch"
                for f in run_cli(["monitor", "findings", "--home", home, "--json"]).json()
            ),
            timeout=40,
        )
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(15)
