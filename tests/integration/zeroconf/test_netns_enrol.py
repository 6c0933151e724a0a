"""Zeroconf enrolment between two network namespaces (RECIPES.md): the controller advertises
``_certmgr._tcp.local.`` in one, an agent with a URL-less token finds it from the other."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.factories.homes import make_home, run_cli
from tests.factories.waiting import wait_for


def _ip(*args: str) -> None:
    subprocess.run([require_tool("ip"), *args], check=True, capture_output=True)


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    if os.geteuid() != 0:
        pytest.fail("network namespaces need root (the CI runs as root)")
    tag = secrets.token_hex(3)
    a, b = f"cm-a-{tag}", f"cm-b-{tag}"
    va, vb = f"cma{tag}", f"cmb{tag}"
    _ip("netns", "add", a)
    _ip("netns", "add", b)
    try:
        _ip("link", "add", va, "type", "veth", "peer", "name", vb)
        _ip("link", "set", va, "netns", a)
        _ip("link", "set", vb, "netns", b)
        _ip("-n", a, "addr", "add", "198.51.100.1/24", "dev", va)
        _ip("-n", b, "addr", "add", "198.51.100.2/24", "dev", vb)
        for ns, dev in ((a, va), (b, vb)):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        yield a, b
    finally:
        subprocess.run(["ip", "netns", "del", a], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "del", b], check=False, capture_output=True)


def test_agent_finds_controller_by_zeroconf(tmp_path: Path, namespaces: tuple[str, str]) -> None:
    ns_a, ns_b = namespaces
    home = make_home(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", listen="198.51.100.1:23466"
    )
    text = (
        (home / "config.toml")
        .read_text()
        .replace("poll_wait = 25\n", 'poll_wait = 25\nzeroconf_interfaces = ["198.51.100.1"]\n')
    )
    (home / "config.toml").write_text(text)
    (home / "ip_acl.txt").write_text("127.0.0.0/8\n198.51.100.0/24\n")
    token = run_cli(
        ["agent-token", "--home", str(home), "--controller-url", "none", "--name", "netns-agent"]
    ).out.strip()
    ip = require_tool("ip")
    log = (tmp_path / "serve.log").open("wb")
    ctl = subprocess.Popen(
        [
            ip,
            "netns",
            "exec",
            ns_a,
            sys.executable,
            "-m",
            "certmgr.controller",
            "serve",
            "--home",
            str(home),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        serve_log = tmp_path / "serve.log"
        wait_for(  # listening and advertised (it prints once both are up), or dead
            lambda: ctl.poll() is not None or "listening on" in serve_log.read_text(),
            timeout=60,
            interval=0.05,
        )
        assert ctl.poll() is None, serve_log.read_text()
        conf = tmp_path / "agent.toml"
        conf.write_text(
            f'state_dir = "{tmp_path / "state"}"\n[targets.files]\ntype = "files"\nallowed_paths = ["{tmp_path / "out"}"]\ncert_path = "{tmp_path / "out" / "c.pem"}"\n'
        )
        r = subprocess.run(
            [
                ip,
                "netns",
                "exec",
                ns_b,
                sys.executable,
                "-m",
                "certmgr.agent",
                "enroll",
                "--token",
                token,
                "--config",
                str(conf),
                "--discovery-timeout",
                "20",
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert r.returncode == 0, r.stdout + r.stderr + (tmp_path / "serve.log").read_text()
        agents = run_cli(["agent", "list", "--home", str(home), "--json"]).json()
        assert [a["name"] for a in agents] == ["netns-agent"]
    finally:
        ctl.send_signal(signal.SIGTERM)
        try:
            ctl.wait(15)
        except subprocess.TimeoutExpired:
            ctl.kill()
            ctl.wait()
        log.close()
