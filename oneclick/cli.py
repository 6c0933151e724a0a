"""The one-click installer's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from certmgr.oneclick import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the installer."""
    parser = argparse.ArgumentParser(prog="certmgr-oneclick")
    parser.add_argument("--version", action="version", version=f"certmgr-oneclick {__version__}")
    parser.parse_args(argv)
    print("certmgr-oneclick: this runtime carries no package", file=sys.stderr)
    return 2
