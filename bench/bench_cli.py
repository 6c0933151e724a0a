"""CLI start-up: ``certmgr --help``, ``COMMAND --help``, ``--version`` and ``definition list`` on an
empty home, each beside ``python3 -c pass`` measured in the same run (median of several runs)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7


def _median_seconds(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def run(*, quick: bool = False) -> None:
    """Print each command's start-up time and its ratio to a bare interpreter."""
    runs = 3 if quick else RUNS
    cli = [sys.executable, "-m", "certmgr.controller"]
    with tempfile.TemporaryDirectory(prefix="certmgr-bench-cli-") as tmp:
        home = Path(tmp) / "home"
        pw = Path(tmp) / "pw"
        pw.write_text("correct horse battery staple\n")
        env = {**os.environ, "CERTMGR_HOME": str(home)}
        # As installed: pip writes bytecode at install time, and a checkout writes it on first
        # use. A shell with PYTHONDONTWRITEBYTECODE would time the compiler on every run instead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(
            [*cli, "init", "--admin-password-file", str(pw)],
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        _median_seconds([*cli, "definition", "list"], env, 1)  # writes the bytecode once
        floor = _median_seconds([sys.executable, "-c", "pass"], env, runs)
        rows = [
            ("certmgr --version", ["--version"], None),
            ("certmgr --help", ["--help"], 0.3),
            ("certmgr definition --help", ["definition", "--help"], 0.3),
            ("certmgr deployment new --help", ["deployment", "new", "--help"], 0.3),
            ("certmgr definition list (empty home)", ["definition", "list"], 0.6),
        ]
        print(f"{'':40}{'median s':>10}{'vs python -c pass':>20}{'goal s':>8}")
        print(f"{'python3 -c pass':40}{floor:>10.3f}{1.0:>19.1f}x")
        for label, args, goal in rows:
            t = _median_seconds([*cli, *args], env, runs)
            goal_text = f"{goal:.1f}" if goal else "-"
            print(f"{label:40}{t:>10.3f}{t / floor:>19.1f}x{goal_text:>8}")
