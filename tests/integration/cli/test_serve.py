"""certmgr serve: HTTPS with the CA-issued console certificate, health check, sign-in page, CRL."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography import x509

from tests.factories.homes import make_home
from tests.factories.postgres import free_port


def _get(url: str, cafile: Path) -> tuple[int, bytes, dict[str, str]]:
    ctx = ssl.create_default_context(cafile=str(cafile))
    with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:  # noqa: S310 - https to loopback
        return resp.status, resp.read(), dict(resp.headers)


def test_serve_https_health_and_login(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    home = make_home(tmp_path, database_url, listen=f"127.0.0.1:{port}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "certmgr.controller", "serve", "--home", str(home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a loaded test host starts the controller slowly
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.1)
        ca = home / "ca" / "ca.pem"
        status, body, headers = _get(f"https://localhost:{port}/healthz", ca)
        assert status == 200 and b'"ok"' in body
        assert "max-age" in headers["Strict-Transport-Security"]
        status, body, headers = _get(f"https://127.0.0.1:{port}/login", ca)
        assert b"Sign in" in body
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        status, body, _ = _get(f"https://127.0.0.1:{port}/pki/crl.der", ca)
        crl = x509.load_der_x509_crl(body)
        assert crl.issuer == x509.load_pem_x509_certificate(ca.read_bytes()).subject
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == 0


def test_serve_refuses_busy_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        home = make_home(
            tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", listen=f"127.0.0.1:{port}"
        )
        res = subprocess.run(
            [sys.executable, "-m", "certmgr.controller", "serve", "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=120,  # a loaded host starts the whole controller slowly
        )
    assert res.returncode == 6
    assert "cannot listen" in res.stderr
