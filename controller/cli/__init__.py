"""The ``certmgr`` command: parse argv, call services, map errors to exit codes (one place)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from certmgr.controller.cli import (
    agent_cmd,
    ca_cmd,
    certificate_cmd,
    definition_cmd,
    deployment_cmd,
    home_cmd,
    import_cmd,
    monitor_cmd,
    request_cmd,
    token_cmd,
    user_cmd,
    vendor_cmd,
)
from certmgr.controller.cli.base import CommandContext
from certmgr.shared.errors import CertmgrError

_MODULES = (
    home_cmd,
    import_cmd,
    definition_cmd,
    certificate_cmd,
    ca_cmd,
    deployment_cmd,
    request_cmd,
    user_cmd,
    token_cmd,
    agent_cmd,
    vendor_cmd,
    monitor_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="certmgr",
        description="certmgr controller: certificate repository, private CA, acquisition, deployment, monitoring.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _MODULES:
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``certmgr``; returns the exit code (0 ok, 2 bad input, 3 not found, 4 conflict, ...)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx = CommandContext(args)
    try:
        code: int = asyncio.run(ctx.run(args.handler))
    except CertmgrError as err:
        print(f"certmgr: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("certmgr: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
