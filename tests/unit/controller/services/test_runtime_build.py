"""The one-click runtime built on first need (issue 15 item 13), with stand-in build scripts."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from certmgr.controller.services.deployment import runtime_build
from certmgr.controller.services.deployment.runtime_build import (
    BUILD_SCRIPT,
    CHECKOUT_DIST,
    runtime_unavailable,
    wait_for_build,
)

ROOT = Path(__file__).parents[4]


def _script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "build_oneclick.py"
    script.write_text(body)
    return script


def test_the_checkout_paths_are_the_build_scripts_own() -> None:
    assert BUILD_SCRIPT == ROOT / "build" / "build_oneclick.py" and BUILD_SCRIPT.is_file()
    spec = importlib.util.spec_from_file_location("build_oneclick", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DIST == CHECKOUT_DIST  # where `make run` puts it is where the controller looks


def test_first_need_starts_one_build_and_says_it_is_being_prepared(tmp_path: Path) -> None:
    script = _script(tmp_path, "import time\ntime.sleep(0.5)\nprint('built')\n")
    first = runtime_unavailable(tmp_path / "home", script=script)
    again = runtime_unavailable(tmp_path / "home", script=script)
    assert "being prepared" in str(first) and "being prepared" in str(again)
    assert wait_for_build(script, timeout=60) == 0
    assert len([b for s, b in runtime_build._builds.items() if s == script]) == 1
    assert "make" not in str(first)


def test_a_failed_build_names_its_last_line_and_log(tmp_path: Path) -> None:
    script = _script(tmp_path, "import sys\nprint('PyInstaller is not installed')\nsys.exit(3)\n")
    runtime_unavailable(tmp_path / "home", script=script)
    assert wait_for_build(script, timeout=60) == 3
    err = str(runtime_unavailable(tmp_path / "home", script=script))
    assert "could not be built" in err and "PyInstaller is not installed" in err
    assert str(tmp_path / "home" / "oneclick" / "build.log") in err


def test_without_a_checkout_the_error_names_the_setting(tmp_path: Path) -> None:
    err = str(runtime_unavailable(tmp_path, script=tmp_path / "absent.py"))
    assert "CERTMGR_ONECLICK_RUNTIME" in err and "make" not in err


def test_no_message_tells_a_user_to_run_make() -> None:
    said = re.compile(r"run\s+'?make\b|make oneclick", re.IGNORECASE)
    for folder in ("controller", "webui"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".html", ".txt", ".js") and path.is_file():
                assert not said.search(path.read_text(errors="replace")), path
