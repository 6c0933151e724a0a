"""A real controller process and a real Chromium driven by Playwright."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import require_tool
from tests.factories.homes import run_cli
from tests.factories.postgres import free_port


@dataclass
class Controller:
    home: Path
    url: str
    otp: str
    log: Path


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    port = free_port()
    home = tmp_path / "home"
    res = run_cli(["init", "--home", str(home), "--listen", f"127.0.0.1:{port}"])
    assert res.code == 0, res.err
    otp = res.out.strip().splitlines()[-1].strip()
    log = tmp_path / "serve.log"
    fh = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "certmgr.controller", "serve", "--home", str(home)],
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield Controller(home, f"https://127.0.0.1:{port}", otp, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        fh.close()
    assert "Traceback" not in log.read_text()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = require_tool("chromium")
    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            await b.close()


def otp_from(text: str) -> str:
    m = re.search(r'<code class="secret">([^<]+)</code>', text)
    assert m
    return m.group(1)
