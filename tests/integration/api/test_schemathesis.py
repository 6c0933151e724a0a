"""Property-based API run: schemathesis generates requests from /api/v1/openapi.json against a real `certmgr serve`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories.homes import make_home, run_cli
from tests.factories.postgres import free_port


@pytest.mark.timeout(900)  # ~140 operations x 15 examples: minutes on a loaded 2-core runner
def test_schemathesis_finds_no_server_errors(tmp_path: Path) -> None:
    port = free_port()
    home = make_home(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", listen=f"127.0.0.1:{port}"
    )
    token = run_cli(["token", "create", "--user", "admin", "--home", str(home)]).out.strip()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "certmgr.controller", "serve", "--home", str(home)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90  # start-up on a loaded runner
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        st = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
        res = subprocess.run(
            [
                st,
                "run",
                f"https://127.0.0.1:{port}/api/v1/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "15",
                "--tls-verify",
                str(home / "ca" / "ca.pem"),
                "--request-timeout",
                "20",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert res.returncode == 0, (
            res.stdout[-6000:] + (tmp_path / "serve.log").read_text()[-4000:]
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    assert "Traceback" not in (tmp_path / "serve.log").read_text().replace("BadHttpMessage", "")
