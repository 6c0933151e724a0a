"""Benchmarks: ``python -m bench [NAME ...]`` (default: all). Each prints ratios against peers run in the same process."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

BENCHES = {
    "import": "bench.bench_import",
    "issue": "bench.bench_issue",
    "console": "bench.bench_console",
    "acme": "bench.bench_acme",
    "agents": "bench.bench_agents",
    "monitor": "bench.bench_monitor",
    "oneclick": "bench.bench_oneclick",
    "cli": "bench.bench_cli",
    "discovery": "bench.bench_discovery",
    "backup": "bench.bench_backup",
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "names",
        nargs="*",
        choices=[*BENCHES, []] if False else None,
        help=f"one or more of {', '.join(BENCHES)}",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run)")
    args = parser.parse_args()
    names = args.names or list(BENCHES)
    for name in names:
        if name not in BENCHES:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHES)}", file=sys.stderr)
            return 2
    for name in names:
        mod = importlib.import_module(BENCHES[name])
        print(f"\n=== {name} ===", flush=True)
        asyncio.run(mod.run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
