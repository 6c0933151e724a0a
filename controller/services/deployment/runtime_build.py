"""The one-click runtime, built on first need in the background from a source checkout.

One-click installers, protected packages and the CA installer stamp a prebuilt executable.
``make run`` builds it; a controller started another way builds it the first time one is asked
for (PyInstaller, a few minutes, cached), and says meanwhile that it is being prepared, when it
started and where its log is. Nothing here tells a console user to run a command.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from certmgr.shared.errors import ConfigurationError

RETRY_AFTER_FAILURE = dt.timedelta(minutes=10)
CHECKOUT = Path(__file__).resolve().parents[3]  # the source tree, when run from a checkout
BUILD_SCRIPT = CHECKOUT / "build" / "build_oneclick.py"
CHECKOUT_DIST = CHECKOUT / "dist"


@dataclass
class _Build:
    process: subprocess.Popen[bytes]
    started: dt.datetime
    log: Path
    finished: dt.datetime | None = None


_lock = threading.Lock()
_builds: dict[Path, _Build] = {}


def _last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "no output"


def runtime_unavailable(home: Path, *, script: Path = BUILD_SCRIPT) -> ConfigurationError:
    """Start (or report on) the background build and return the error that says where it is.

    Args:
        home: The controller's home (the build log goes to ``<home>/oneclick/build.log``).
        script: The build script of the source checkout.
    """
    if not script.is_file():
        return ConfigurationError(
            "the one-click runtime is not installed on this controller; one-click installers "
            "and protected packages need it (an administrator sets CERTMGR_ONECLICK_RUNTIME "
            "to its path, as the README's one-click section says)"
        )
    now = dt.datetime.now(dt.UTC)
    with _lock:
        build = _builds.get(script)
        if build is not None and build.process.poll() is not None and build.finished is None:
            build.finished = now
        failed = build is not None and build.finished is not None and build.process.returncode
        if build is None or (
            failed and build.finished is not None and now - build.finished > RETRY_AFTER_FAILURE
        ):
            log = home / "oneclick" / "build.log"
            log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with log.open("wb") as out:
                process = subprocess.Popen(  # noqa: S603 - our own build script, fixed argv
                    [sys.executable, str(script)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    start_new_session=True,
                )
            build = _builds[script] = _Build(process, now, log)
            failed = False
    if failed:
        return ConfigurationError(
            f"the one-click runtime could not be built on this controller "
            f"({_last_line(build.log)}); its log is {build.log}; it is tried again "
            f"{int(RETRY_AFTER_FAILURE.total_seconds() // 60)} minutes after the failure"
        )
    if build.finished is not None:
        return ConfigurationError(
            f"the one-click runtime was built but is not where the controller looks; see {build.log}"
        )
    return ConfigurationError(
        f"the one-click runtime is being prepared on this controller (started "
        f"{build.started:%H:%M:%S} UTC; it takes a few minutes once); try again shortly"
    )


def wait_for_build(script: Path = BUILD_SCRIPT, timeout: float = 900.0) -> int | None:  # noqa: ASYNC109
    """Wait for this process's build of ``script`` (tests and ``make``); its exit status or None."""
    with _lock:
        build = _builds.get(script)
    if build is None:
        return None
    return build.process.wait(timeout=timeout)
