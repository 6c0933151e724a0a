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
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import require_tool
from tests.factories.homes import run_cli
from tests.factories.postgres import free_port

# Waits, not sleeps: an assertion waits for its condition up to this long. Playwright's default
# of 5 s is short on a loaded 2-core host where the controller, nginx and Chromium share the CPU.
expect.set_options(timeout=20_000)


@dataclass
class Controller:
    home: Path
    url: str
    otp: str
    log: Path
    password: str = ""  # set once the one-time password has been changed


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
    # a loaded machine (a parallel test run) can take long to start Python and the app
    deadline = time.monotonic() + 90
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the controller did not start within 90 s"
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


FIRST_PASSWORD = "browser chosen password 1"


async def first_sign_in(page: Page, controller: Controller) -> None:
    """Sign in as admin with the one-time password and set :data:`FIRST_PASSWORD` (or sign in
    with it when an earlier page already changed it)."""
    await page.goto(controller.url + "/login")
    await page.get_by_label("User name").fill("admin")
    await page.get_by_label("Password").fill(controller.password or controller.otp)
    await page.get_by_role("button", name="Sign in").click()
    if controller.password:
        await expect(page).to_have_url(controller.url + "/dashboard")
        return
    await expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    await page.get_by_label("Current password").fill(controller.otp)
    await page.get_by_label("New password (at least 10 characters)").fill(FIRST_PASSWORD)
    await page.get_by_label("New password again").fill(FIRST_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_text("Your password was changed")).to_be_visible()
    controller.password = FIRST_PASSWORD
