"""The CLI builds in full only the command its command line names, and that command is whole."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from certmgr.controller.cli import build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _shape(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Every option, positional, default and sub-command of ``parser``, recursively."""
    out: dict[str, Any] = {"<defaults>": sorted((k, repr(v)) for k, v in parser._defaults.items())}
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            out["<commands>"] = {n: _shape(c) for n, c in a.choices.items()}
        else:
            key = "/".join(a.option_strings) or a.dest
            out[key] = (
                a.dest,
                repr(a.default),
                repr(a.choices),
                a.help,
                repr(a.type),
                repr(a.nargs),
                a.required,
                a.metavar,
                type(a).__name__,
            )
    return out


FULL = build_parser()
COMMANDS = sorted(_subparsers(FULL))


def test_every_command_is_listed_when_none_is_built() -> None:
    lean = build_parser(["--help"])
    assert sorted(_subparsers(lean)) == COMMANDS
    assert lean.format_help() == FULL.format_help()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_named_command_is_built_exactly_as_in_the_full_parser(command: str) -> None:
    lean = build_parser([command, "--help"])
    assert _shape(_subparsers(lean)[command]) == _shape(_subparsers(FULL)[command])
    assert _subparsers(lean)[command].format_help() == _subparsers(FULL)[command].format_help()


def test_an_option_value_that_names_a_command_builds_it_too() -> None:
    lean = build_parser(["--home", "definition", "certificate", "list"])
    built = _subparsers(lean)
    for command in ("definition", "certificate"):
        assert _shape(built[command]) == _shape(_subparsers(FULL)[command])


def test_a_command_not_named_parses_to_nothing_runnable() -> None:
    lean = build_parser(["certificate", "list"])
    args = lean.parse_args(["certificate", "list"])
    assert callable(args.handler)
    assert _shape(_subparsers(lean)["definition"]) != _shape(_subparsers(FULL)["definition"])
