"""The one-click runtime: size, start-up time, and the time to stamp a per-deployment installer.

Stamping is printed beside a plain ``cp`` of the same runtime, start-up beside ``python3 -c pass``
and ``openssl version`` (one-shot commands a server administrator runs), all in the same run.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import workdir
from certmgr.shared.stamp import deploy_payload, read_stamp, stamp

ROOT = Path(__file__).resolve().parents[1]


def _build() -> Path:
    spec = importlib.util.spec_from_file_location(
        "build_oneclick", ROOT / "build" / "build_oneclick.py"
    )
    if spec is None or spec.loader is None:
        raise RuntimeError("build/build_oneclick.py is missing")
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.build(distpath=None))


def _median_seconds(argv: list[str], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, timeout=120)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def run(*, quick: bool = False) -> None:
    """Print the figures."""
    t0 = time.perf_counter()
    runtime = _build()
    print(
        f"runtime {runtime.name}: {runtime.stat().st_size / 1e6:.1f} MB (built or reused in {time.perf_counter() - t0:.1f} s)"
    )
    d = workdir("oneclick")
    n = 5 if quick else 20
    payload = deploy_payload(bytes(32), os.urandom(64 * 1024), name="web01")  # a typical package
    stamp_s, copy_s = [], []
    for i in range(n):
        t1 = time.perf_counter()
        out = stamp(runtime, payload, d / f"inst{i}", "deploy")
        stamp_s.append(time.perf_counter() - t1)
        t1 = time.perf_counter()
        subprocess.run(["cp", str(runtime), str(d / f"copy{i}")], check=True)
        copy_s.append(time.perf_counter() - t1)
        (d / f"copy{i}").unlink()
        if i:
            (d / f"inst{i - 1}").unlink()
    if read_stamp(out).payload != payload:
        raise RuntimeError("the stamped installer does not carry the payload")
    st, cp = statistics.median(stamp_s), statistics.median(copy_s)
    print(f"{'':34}{'median s':>10}{'ratio':>8}")
    print(f"{'stamp an installer (64 KiB pkg)':34}{st:>10.3f}{1.0:>7.2f}x")
    print(f"{'cp of the runtime':34}{cp:>10.3f}{cp / st:>7.2f}x")
    starts = 3 if quick else 10
    mine = _median_seconds([str(out), "--version"], starts)
    py = _median_seconds([sys.executable, "-I", "-c", "pass"], starts)
    ossl = _median_seconds(["openssl", "version"], starts)
    print(f"{'installer --version (start-up)':34}{mine:>10.3f}{1.0:>7.2f}x")
    print(f"{'python3 -c pass':34}{py:>10.3f}{py / mine:>7.2f}x")
    print(f"{'openssl version':34}{ossl:>10.3f}{ossl / mine:>7.2f}x")
    print("goals: stamping well under a second, without PyInstaller on the controller host")
