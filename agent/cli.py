"""The ``certmgr-agent`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from certmgr.agent import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="certmgr-agent",
        description="certmgr agent: installs certificates pushed by a certmgr controller.",
    )
    parser.add_argument("--version", action="version", version=f"certmgr-agent {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``certmgr-agent``."""
    build_parser().parse_args(argv)
    print("certmgr-agent: no command given (see --help)", file=sys.stderr)
    return 2
