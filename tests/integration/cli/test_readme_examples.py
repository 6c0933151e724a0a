"""The README's commands (issue 15 item 16).

The walk-through block runs as written, line by line, on a fresh home (real openssl plays the
vendor and makes the files to import). Every line of the command reference names commands and
options that exist.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

from certmgr.controller.cli import build_parser
from tests.conftest import require_tool

ROOT = Path(__file__).parents[3]
README = (ROOT / "README.md").read_text()


def _block_after(marker: str) -> str:
    found = re.search(re.escape(marker) + r"\s*```sh\n(.*?)```", README, re.DOTALL)
    assert found, f"README has no sh block after {marker!r}"
    return found.group(1)


def _section_block(heading: str) -> str:
    found = re.search(
        r"^## " + re.escape(heading) + r"\n(.*?)```sh\n(.*?)```", README, re.DOTALL | re.M
    )
    assert found, f"README has no sh block in section {heading!r}"
    return found.group(2)


def test_the_walk_through_runs_as_written(tmp_path: Path) -> None:
    require_tool("openssl")
    script = _block_after("<!-- readme-example: walk-through -->")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("CERTMGR_HOME", None)
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    demo = tmp_path / "demo"
    secret = demo / "www1-passphrase.txt"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_text().strip()) >= 16
    assert list(demo.glob("*.zip")), "deployment prepare --out . wrote the package"
    listed = subprocess.run(
        ["certmgr", "definition", "list", "--json"],
        env={**env, "CERTMGR_HOME": str(demo / "demo-home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    current = {d["name"]: d for d in json.loads(listed.stdout)}
    for name in ("web", "shop-ev", "legacy", "app"):
        assert current[name]["current_certificate_id"], name


def _subcommands(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(p: argparse.ArgumentParser) -> set[str]:
    return {o for a in p._actions for o in a.option_strings}


def _check_line(root: argparse.ArgumentParser, line: str) -> None:
    text = re.split(r"\s#\s|\s#$", line)[0]
    tokens = shlex.split(text.replace("[", " ").replace("]", " "))
    segments: list[list[str]] = [[]]
    for tok in tokens[1:]:
        if tok == "|":
            segments.append([])
        else:
            segments[-1].append(tok)
    parent, parser = root, root
    for n, seg in enumerate(segments):
        i = 0
        if n > 0:
            subs = _subcommands(parent)
            assert seg and seg[0] in subs, f"{line!r}: {seg[:1]} is not a command of its group"
            parser = subs[seg[0]]
            i = 1
        while i < len(seg) and seg[i] in _subcommands(parser):
            parent, parser = parser, _subcommands(parser)[seg[i]]
            i += 1
        for tok in seg[i:]:
            if tok.startswith("--"):
                flag = tok.split("=", 1)[0]
                assert flag in _options(parser), f"{line!r}: {flag} is not an option of it"


def test_every_reference_line_names_real_commands_and_options() -> None:
    root = build_parser()
    lines = [ln for ln in _section_block("Command reference").splitlines()]
    lines += _block_after("<!-- readme-example: walk-through -->").splitlines()
    checked = 0
    for line in lines:
        if line.startswith("certmgr "):
            _check_line(root, line)
            checked += 1
    assert checked > 30
