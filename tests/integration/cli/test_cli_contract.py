"""What the README promises of every command: ``--home`` everywhere, exit codes, a closed pipe."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from certmgr.controller.cli import build_parser
from tests.factories._serverbase import free_port
from tests.factories.homes import make_home, run_cli


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [path]
    out: list[tuple[str, ...]] = []
    for action in subs:
        for name, child in action.choices.items():
            out += _leaves(child, (*path, name))
    return out


def _leaf(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def test_every_command_takes_home() -> None:
    parser = build_parser()
    leaves = _leaves(parser)
    assert ("product", "list") in leaves and ("check",) in leaves
    missing = [
        " ".join(p)
        for p in leaves
        if not any("--home" in a.option_strings for a in _leaf(parser, p)._actions)
    ]
    assert missing == []


def test_product_list_and_check_accept_home(tmp_path: Path) -> None:
    res = run_cli(["product", "list", "--home", str(tmp_path / "nowhere"), "--json"])
    assert res.code == 0, res.err
    port = free_port()
    res = run_cli(["check", f"127.0.0.1:{port}", "--home", str(tmp_path), "--timeout", "2"])
    assert "unrecognized arguments" not in res.err


def test_check_without_expect_reports_unreachable(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: a check that found a problem (1), not bad input (2)
    res = run_cli(["check", f"127.0.0.1:{port}", "--timeout", "2", "--json"])
    assert res.code == 1, res.err
    assert res.json()["reachable"] is False


def test_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "certmgr.controller", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("certmgr "), proc.stderr


def test_closed_stdout_is_no_traceback(tmp_path: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cm.db'}")
    env = {**os.environ, "CERTMGR_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "certmgr.controller", "product", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line (``| head -0``)
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "broken pipe" in err


def test_the_program_flushes_everything_and_keeps_its_exit_code(tmp_path: Path) -> None:
    """The program skips the interpreter's teardown; its output and exit code stay whole."""
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cm.db'}")
    env = {**os.environ, "CERTMGR_HOME": str(home)}
    program = [sys.executable, "-m", "certmgr.controller"]
    listing = subprocess.run(
        [*program, "product", "list", "--json"],
        capture_output=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    assert len(json.loads(listing.stdout)) > 10  # the whole document, every byte of it
    missing = subprocess.run(
        [*program, "definition", "show", "no-such-definition"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert missing.returncode == 3 and "no-such-definition" in missing.stderr, missing.stderr


def test_monitor_run_exits_1_when_a_check_fails(tmp_path: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cm.db'}")
    h = ["--home", str(home)]
    res = run_cli(["definition", "new", *h, "--name", "web", "--cn", "web.example.test"])
    assert res.code == 0, res.err
    res = run_cli(["request", "new", *h, "web", "--wait"])
    assert res.code == 0, res.err
    port = free_port()  # nothing listens there: the check fails
    res = run_cli(
        ["deployment", "new", *h, "web", "--server", "www1", "--check", f"127.0.0.1:{port}"]
    )
    assert res.code == 0, res.err
    res = run_cli(["monitor", "run", *h, "--json"])
    assert res.code == 1, (res.out, res.err)
    assert res.json()["failed"] == 1


def test_every_handler_resolves() -> None:
    import importlib
    import inspect

    from certmgr.controller.cli.args import LazyHandler

    parser = build_parser()
    for path in _leaves(parser):
        handler = _leaf(parser, path).get_default("handler")
        assert isinstance(handler, LazyHandler), path
        mod = importlib.import_module(f"certmgr.controller.cli.{handler.module}")
        assert inspect.iscoroutinefunction(getattr(mod, handler.name)), path
