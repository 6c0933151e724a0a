"""Build the one-click installer runtime: a one-file PyInstaller executable (``make oneclick``).

    python build/build_oneclick.py [--force]

prints the output path and its size. PyInstaller runs with ``--workpath .pyinstaller/work
--distpath dist``; nothing is written to the tracked ``build/`` folder. Each result is also kept
in ``.pyinstaller/cache/<key>/``, where the key is a hash of everything that goes into the
binary (the ``oneclick`` and ``shared`` sources, the spec, this script, the Python, PyInstaller,
cryptography and PyNaCl versions), so an unchanged tree is not rebuilt. A file lock lets
parallel test workers share one build. The test suite calls :func:`build` from a session
fixture (``tests/integration/oneclick/conftest.py``).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "build" / "oneclick.spec"
NAME = "certmgr-oneclick-runtime"
WORK = ROOT / ".pyinstaller"
DIST = ROOT / "dist"
KEEP_CACHED = 3
_VERSIONED = ("pyinstaller", "cryptography", "pynacl", "cffi")


def source_key() -> str:
    """A hash of every input of the build (first 20 hex digits)."""
    digest = hashlib.sha256()
    for folder in ("oneclick", "shared"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    for path in (SPEC, Path(__file__).resolve()):
        digest.update(path.read_bytes() + b"\0")
    digest.update(sys.version.encode())
    for dist in _VERSIONED:
        try:
            digest.update(f"{dist}={importlib.metadata.version(dist)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{dist}=none".encode())
    return digest.hexdigest()[:20]


def build(distpath: Path | None = DIST, *, force: bool = False, quiet: bool = True) -> Path:
    """Build (or reuse) the runtime.

    Args:
        distpath: Folder that receives ``certmgr-oneclick-runtime``; None: leave it in the cache.
        force: Rebuild even when the cache holds a build of the same sources.
        quiet: Keep PyInstaller's output unless it fails.

    Returns:
        The runtime's path (in ``distpath``, or in the cache).

    Raises:
        RuntimeError: PyInstaller failed (its output is in the message).
    """
    key = source_key()
    cached = WORK / "cache" / key / NAME
    WORK.mkdir(exist_ok=True)
    with open(WORK / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or not cached.exists():
            _pyinstaller(distpath or WORK / "dist", quiet=quiet)
            built = (distpath or WORK / "dist") / NAME
            cached.parent.mkdir(parents=True, exist_ok=True)
            temp = cached.with_name(NAME + ".tmp")
            shutil.copy2(built, temp)
            os.replace(temp, cached)
            _prune(cached.parent)
        elif distpath is not None:
            distpath.mkdir(parents=True, exist_ok=True)
            temp = distpath / (NAME + ".tmp")
            shutil.copy2(cached, temp)
            os.replace(temp, distpath / NAME)
    return distpath / NAME if distpath is not None else cached


def _pyinstaller(distpath: Path, *, quiet: bool) -> None:
    argv = [
        sys.executable,
        "-m",
        "PyInstaller",
        str(SPEC),
        "--workpath",
        str(WORK / "work"),
        "--distpath",
        str(distpath),
        "--noconfirm",
        "--log-level",
        "WARN",
    ]
    proc = subprocess.run(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"PyInstaller failed ({proc.returncode}):\n{(proc.stdout or '')[-4000:]}")


def _prune(current: Path) -> None:
    entries = sorted(
        (p for p in current.parent.iterdir() if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in entries[KEEP_CACHED:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the one-click installer runtime.")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    parser.add_argument("--dist", type=Path, default=DIST, help="output folder (default dist/)")
    args = parser.parse_args()
    started = time.monotonic()
    out = build(args.dist.resolve(), force=args.force, quiet=False)
    size = out.stat().st_size
    print(f"{out} {size} bytes ({size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
