"""The ``certmgr`` command: parse argv, call services, map errors to exit codes (one place)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from certmgr.controller.cli import (
    agent_cmd,
    backup_cmd,
    ca_cmd,
    certificate_cmd,
    config_cmd,
    console_cmd,
    definition_cmd,
    deployment_cmd,
    discovery_cmd,
    home_cmd,
    import_cmd,
    monitor_cmd,
    request_cmd,
    token_cmd,
    user_cmd,
    vendor_cmd,
)
from certmgr.controller.cli.args import add_home
from certmgr.shared.errors import CertmgrError
from certmgr.shared.exitcodes import BROKEN_PIPE, INTERRUPTED, exit_code_for

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
    console_cmd,
    config_cmd,
    backup_cmd,
    discovery_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="certmgr",
        description="certmgr controller: certificate repository, private CA, acquisition, deployment, monitoring.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _MODULES:
        mod.register(sub)
    _home_everywhere(parser)
    return parser


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked (metadata is slow to load)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        kwargs.pop("nargs", None)
        super().__init__(option_strings, dest, nargs=0, **kwargs)  # type: ignore[arg-type]

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("certmgr")
        except PackageNotFoundError:
            text = "unknown"
        sys.stdout.write(f"certmgr {text}\n")
        parser.exit()


def _home_everywhere(parser: argparse.ArgumentParser) -> None:
    """Give every command ``--home`` (the README promises it), also those that may not need it."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        if not any("--home" in a.option_strings for a in parser._actions):
            add_home(parser)
        return
    for action in actions:
        for child in set(action.choices.values()):
            _home_everywhere(child)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``certmgr``; returns the exit code (the table in ``certmgr.shared.exitcodes``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # lazy: the command context pulls in SQLAlchemy and asyncio; --help must not pay for them
    import asyncio

    from certmgr.controller.cli.base import CommandContext

    ctx = CommandContext(args)
    try:
        code: int = asyncio.run(ctx.run(args.handler))
        sys.stdout.flush()
    except CertmgrError as err:
        print(f"certmgr: error: {err}", file=sys.stderr)
        return exit_code_for(err)
    except KeyboardInterrupt:
        print("certmgr: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``certmgr ... | head``): what was done stays done; say nothing more
        # on a closed stdout, and keep Python from complaining again when it flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("certmgr: output closed early (broken pipe)", file=sys.stderr)
        return BROKEN_PIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
