"""Guard test: a test that blocks its event loop fails, naming the blocking line; threads do not count."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
from tests.loop_guard import (  # noqa: F401
    install_handler, pytest_fixture_setup, pytest_runtest_setup, pytest_runtest_teardown,
)

def pytest_configure(config):
    install_handler()
"""

TESTS = """
import asyncio
import time

import pytest


def hold_the_loop():
    time.sleep(0.6)


async def test_blocks():
    hold_the_loop()


async def test_thread_is_fine():
    await asyncio.to_thread(time.sleep, 0.3)


@pytest.mark.allow_slow_callbacks(reason="measures a blocking call on purpose")
async def test_exempt():
    time.sleep(0.6)


async def test_short_blocks_are_fine():
    for _ in range(3):
        time.sleep(0.005)  # far below the 100 ms limit even on a loaded host
        await asyncio.sleep(0)
"""


def test_blocked_loop_fails_with_the_offenders_stack(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_guarded.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    allow_slow_callbacks(reason): may block\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q", "-rE"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "4 passed, 1 error" in out, out
    assert "ERROR test_guarded.py::test_blocks" in out, out
    assert "the event loop was blocked longer than 100 ms" in out, out
    # the watchdog's sample names the blocking line itself, not just the task
    assert "in hold_the_loop" in out, out
    assert "time.sleep(0.6)" in out, out
