"""Issue 17 item 6: the controller's systemd unit and the sample nginx reverse proxy work as shipped.

The unit is checked by systemd itself (``systemd-analyze verify`` and its offline security
score) and its command lines by certmgr's parser. The nginx sample, with only addresses, ports
and file paths changed, is loaded by a real nginx that proxies HTTPS to a real ``certmgr serve``
(verifying the controller's certificate against the home's CA).
"""

from __future__ import annotations

import re
import shlex
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from certmgr.controller.cli import build_parser
from tests.conftest import require_tool
from tests.factories.controller_proc import Controller
from tests.factories.homes import make_home
from tests.factories.pki import make_pki
from tests.factories.postgres import free_port
from tests.factories.waiting import wait_for

PACKAGING = Path(__file__).resolve().parents[3] / "controller" / "packaging"


def _unit_lines(name: str) -> list[str]:
    text = (PACKAGING / "certmgr.service").read_text()
    return [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith(f"{name}=")]


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    unit = tmp_path / "certmgr.service"
    # verify needs existing programs: the same unit with /bin/true for the certmgr binary
    unit.write_text(
        (PACKAGING / "certmgr.service").read_text().replace("/usr/local/bin/certmgr", "/bin/true")
    )
    res = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    res = subprocess.run(
        [analyze, "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for certmgr.service: ([0-9.]+)", res.stdout)
    assert m, res.stdout + res.stderr
    assert float(m.group(1)) <= 2.0, res.stdout  # systemd calls up to 2.0 "OK"


def test_systemd_unit_command_lines_parse() -> None:
    parser = build_parser()
    for name in ("ExecStart", "ExecStartPre"):
        (line,) = _unit_lines(name)
        argv = shlex.split(line)
        assert argv[0] == "/usr/local/bin/certmgr"
        args = parser.parse_args(argv[1:])
        assert str(args.home) == "/var/lib/certmgr"
    args = parser.parse_args(shlex.split(_unit_lines("ExecStart")[0])[1:])
    assert args.trusted_proxy == ["127.0.0.1/32", "::1/128"]


def _nginx_conf(tmp_path: Path, home: Path, controller_port: int, https_port: int) -> Path:
    pki = make_pki(["localhost", "127.0.0.1"]).write(tmp_path / "pki")
    sample = (PACKAGING / "nginx-certmgr.conf").read_text()
    replacements = {
        "server 127.0.0.1:23466": f"server 127.0.0.1:{controller_port}",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "listen 80;": f"listen 127.0.0.1:{free_port()};",
        "listen [::]:80;": "",
        "/etc/nginx/tls/certmgr.example.com.fullchain.pem": str(pki["fullchainA.pem"]),
        "/etc/nginx/tls/certmgr.example.com.key": str(pki["leafA.key"]),
        "/var/lib/certmgr/ca/ca.pem": str(home / "ca" / "ca.pem"),
    }
    for old, new in replacements.items():
        assert old in sample, old
        sample = sample.replace(old, new)
    site = tmp_path / "certmgr-site.conf"
    site.write_text(sample)
    (tmp_path / "tmp").mkdir()
    main = tmp_path / "nginx.conf"
    t = tmp_path / "tmp"
    main.write_text(
        f"""worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {t}/b; proxy_temp_path {t}/p; fastcgi_temp_path {t}/f;
    uwsgi_temp_path {t}/u; scgi_temp_path {t}/s;
    include {site};
}}
"""
    )
    return main


def test_nginx_sample_proxies_to_a_real_controller(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed (RECIPES-SERVERS.md)")
    port, https_port = free_port(), free_port()
    home = make_home(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", listen=f"127.0.0.1:{port}"
    )
    conf = _nginx_conf(tmp_path, home, port, https_port)
    base = [nginx, "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"]
    res = subprocess.run([*base, "-t"], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    controller = Controller(home, port, tmp_path / "serve.log")
    controller.start()
    proc = subprocess.Popen([*base, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        client = ssl.create_default_context(cafile=str(tmp_path / "pki" / "root.pem"))

        def get(path: str) -> tuple[int, bytes]:
            req = urllib.request.Request(f"https://localhost:{https_port}{path}")
            try:
                with urllib.request.urlopen(req, context=client, timeout=10) as resp:  # noqa: S310 - loopback https
                    return resp.status, resp.read()
            except urllib.error.HTTPError as err:
                return err.code, err.read()
            except OSError:
                return 0, b""

        def ready() -> tuple[int, bytes] | None:
            status, body = get("/readyz")
            return (status, body) if status == 200 else None

        answer = wait_for(ready, timeout=30, interval=0.2, what="proxied /readyz")
        assert answer is not None and b'"ready"' in answer[1], answer
        status, body = get("/pki/ca.pem")
        assert status == 200
        assert body == (home / "ca" / "ca.pem").read_bytes()
    finally:
        proc.terminate()
        proc.wait(10)
        controller.stop()
    assert "Traceback" not in controller.log.read_text()
