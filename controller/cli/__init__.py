"""The ``certmgr`` command: parse argv, call services, map errors to exit codes (one place)."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: in full, or (given ``argv``) in full only for the commands it names.

    Every command is listed either way, with its help line, so ``certmgr --help`` is complete;
    the options and actions of a command that ``argv`` does not name are not built, which spares
    each run most of the parser's construction.
    """
    parser = argparse.ArgumentParser(
        prog="certmgr",
        description="certmgr controller: certificate repository, private CA, acquisition, deployment, monitoring.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    target: Any = sub if argv is None else _NamedOnly(sub, frozenset(argv))
    for mod in _MODULES:
        mod.register(target)
    _home_everywhere(parser)
    return parser


class _NamedOnly:
    """Subcommands that build in full only the commands named in the command line."""

    def __init__(self, sub: Any, named: frozenset[str]) -> None:
        self._sub = sub
        self._named = named

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        """A real parser for a named command; for any other, its help line and nothing more."""
        parser = self._sub.add_parser(name, **kwargs)
        if self._named.isdisjoint((name, *kwargs.get("aliases", ()))):
            return _Unbuilt()
        return parser


class _Unbuilt:
    """Takes every call a command's ``register`` makes and builds nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self

    def __setattr__(self, name: str, value: object) -> None:
        pass


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
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words)
    args = parser.parse_args(words)
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


def run() -> NoReturn:
    """The ``certmgr`` program: :func:`main`, then exit without tearing the interpreter down.

    Output is flushed and exit handlers run as usual. Only the teardown of every loaded module is
    skipped (with SQLAlchemy loaded it takes about a tenth of a second, a fifth of a short
    command's run), and only when no other thread is left that a normal exit would wait for.
    """
    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader went away: main() said so
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    run()
