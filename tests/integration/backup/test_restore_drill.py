"""Issue 17 item 3, the restore drill, with real processes on SQLite and PostgreSQL.

A home with keys, certificates, a deployment, an agent and a document is backed up while the
controller serves and the agent long-polls; the home (and its PostgreSQL database) is destroyed;
the backup is restored into another folder (and another database); every key unseals, the counts
and fingerprints match, the console serves, and the agent (never re-enrolled) installs a renewal.
"""

from __future__ import annotations

import json
import shutil
import signal
import ssl
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography import x509

from certmgr.shared.pki import sha256_fingerprint
from tests.factories.backups import add_document, home_snapshot, passphrase_file
from tests.factories.controller_proc import Controller
from tests.factories.controller_proc import wait_until as _wait
from tests.factories.homes import make_home, run_cli
from tests.factories.pki import make_pki
from tests.factories.postgres import create_database, free_port, pg_bin


def _drop_database(dsn: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    subprocess.run(
        [str(pg_bin() / "psql"), "-q", "-d", dsn + "/postgres", "-c", f'DROP DATABASE "{name}" WITH (FORCE)'],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _installed_sha(path: Path) -> str:
    return (
        sha256_fingerprint(x509.load_pem_x509_certificates(path.read_bytes())[0])
        if path.exists()
        else ""
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_restore_drill(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if backend == "postgres" else None
    url = (
        create_database(dsn, "drill_" + uuid.uuid4().hex[:12])
        if dsn
        else "sqlite+aiosqlite:///certmgr.db"
    )
    port = free_port()
    home = make_home(tmp_path, url, listen=f"127.0.0.1:{port}")
    h = ["--home", str(home)]
    files = make_pki().write(tmp_path / "pki")
    for args in (
        ["import", str(files["fullchainA.pem"]), "--key", str(files["leafA.key"]), "--name", "web"],
        ["definition", "new", "--name", "app", "--cn", "app.example.test", "--san", "app.example.test"],
        ["request", "new", "app", "--wait"],
        ["user", "add", "operator", "--role", "user"],
    ):  # fmt: skip
        res = run_cli([*args, *h])
        assert res.code == 0, (args, res.err)
    add_document(home, "app", "order.pdf", b"%PDF-1.4 order form\n")

    out = tmp_path / "target"
    out.mkdir()
    conf = tmp_path / "agent.toml"
    conf.write_text(
        f'state_dir = "{tmp_path / "agent-state"}"\npoll_wait = 3\nmax_backoff = 2\n'
        f'[targets.files]\ntype = "files"\nallowed_paths = ["{out}"]\n'
        f'fullchain_path = "{out / "full.pem"}"\nkey_path = "{out / "key.pem"}"\n'
    )
    controller = Controller(home, port, tmp_path / "serve.log")
    controller.start()
    agent: subprocess.Popen[bytes] | None = None
    restored_ctl: Controller | None = None
    try:
        enroll = run_cli(["agent-token", *h]).out.strip()
        r = subprocess.run(
            [sys.executable, "-m", "certmgr.agent", "enroll", "--token", enroll, "--config", str(conf)],
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        agent_id = run_cli(["agent", "list", "--json", *h]).json()[0]["id"]
        res = run_cli(
            ["deployment", "new", "app", "--server", "app.example.test", "--software", "files",
             "--delivery", "agent", "--agent", str(agent_id), "--check", f"127.0.0.1:{free_port()}",
             "--no-monitoring", "--json", "--param", "agent_target=files", *h]
        )  # fmt: skip
        assert res.code == 0, res.err
        dep = res.json()["id"]
        with (tmp_path / "agent.log").open("wb") as agent_log:
            agent = subprocess.Popen(
                [sys.executable, "-m", "certmgr.agent", "run", "--config", str(conf)],
                stdout=agent_log,
                stderr=subprocess.STDOUT,
            )
        token = run_cli(["token", "create", "--user", "admin", *h]).out.strip()
        controller.api("POST", f"/api/v1/deployments/{dep}/install", token)
        first = _wait(lambda: _installed_sha(out / "full.pem"), timeout=40)

        # the backup, while the controller serves and the agent long-polls
        before = home_snapshot(home)
        pw = passphrase_file(tmp_path)
        backup = tmp_path / "offsite" / "drill.cmbk"
        key_copy = tmp_path / "offsite" / "master.key"
        args = ["backup", "--out", str(backup), "--passphrase-file", str(pw), *h]
        if backend == "sqlite":
            args.append("--include-master-key")
        res = run_cli(args)
        assert res.code == 0, res.err
        if backend == "postgres":
            assert "master key is NOT in this backup" in res.out
            shutil.copy(home / "master.key", key_copy)
        else:
            assert "master key IS in this backup" in res.out
        assert backup.stat().st_mode & 0o777 == 0o600
        assert agent.poll() is None  # still long-polling

        # the loss: the controller stops, its home and database are destroyed
        controller.stop()
        shutil.rmtree(home)
        restore_args = ["restore", str(backup), "--passphrase-file", str(pw)]
        if dsn is not None:
            _drop_database(dsn, url)
            new_url = create_database(dsn, "drill_new_" + uuid.uuid4().hex[:12])
            restore_args += ["--database-url", new_url, "--master-key", str(key_copy)]
        new_home = tmp_path / "elsewhere" / "certmgr"
        res = run_cli([*restore_args, "--home", str(new_home)])
        assert res.code == 0, res.err

        # nothing missing: the same rows, certificates, keys (all unseal) and documents
        assert home_snapshot(new_home) == before
        restored_ctl = Controller(new_home, port, tmp_path / "serve2.log")
        restored_ctl.start()
        ctx = ssl.create_default_context(cafile=str(new_home / "ca" / "ca.pem"))
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/login", context=ctx, timeout=30
        ) as resp:  # noqa: S310
            assert resp.status == 200 and b"<form" in resp.read()

        # the agent carries on with its old identity: a renewal reaches it, no re-enrolment
        restored_ctl.api("POST", "/api/v1/requests", token, {"definition": "app"})
        renewed = _wait(lambda: (s := _installed_sha(out / "full.pem")) != first and s, timeout=60)
        nh = ["--home", str(new_home)]
        current = run_cli(["definition", "show", "app", "--json", *nh]).json()["current"]["sha256"]
        assert renewed == current
        agents = run_cli(["agent", "list", "--json", *nh]).json()
        assert [(a["id"], a["status"]) for a in agents] == [(agent_id, "approved")]
        assert agent.poll() is None
    finally:
        if agent is not None and agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(15)
        for c in (controller, restored_ctl):
            if c is not None:
                c.stop()
    for log in ("serve.log", "serve2.log"):
        p = tmp_path / log
        assert not p.exists() or "Traceback" not in p.read_text(), p.read_text()[-3000:]
    assert json.dumps(before)  # the snapshot is plain data
