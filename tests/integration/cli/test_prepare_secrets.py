"""``deployment prepare`` (issue 15, items 12 and 18): the one-time passphrase is never lost.

It is shown (or written to a 0600 file) before the package is stored, so a reader that goes
away (``| head -0``) stops the command before anything irreversible; ``--out`` means one thing
for every delivery: the package file, or a file in the folder named.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.factories.homes import home_with_definition, run_cli
from tests.factories.pki import make_pki


def _home_with_deployment(tmp_path: Path, database_url: str) -> tuple[Path, str]:
    files = make_pki(["localhost"]).write(tmp_path / "pki")
    home = home_with_definition(tmp_path, database_url, files)
    made = run_cli(
        ["deployment", "new", "web", "--home", str(home), "--server", "localhost",
         "--delivery", "conventional", "--json"]
    )  # fmt: skip
    assert made.code == 0, made.err
    return home, str(made.json()["id"])


def _documents(home: Path) -> list[Path]:
    return [p for p in (home / "documents").rglob("*") if p.is_file()]


def test_passphrase_file_out_is_private_and_never_overwritten(
    tmp_path: Path, database_url: str
) -> None:
    home, dep = _home_with_deployment(tmp_path, database_url)
    secret = tmp_path / "secret.txt"
    res = run_cli(
        ["deployment", "prepare", dep, "--home", str(home), "--passphrase-file-out", str(secret),
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert res.code == 0, res.err
    passphrase = secret.read_text().strip()
    assert len(passphrase) >= 16 and passphrase not in res.out
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    written = [p for p in tmp_path.iterdir() if p.suffix == ".zip"]
    assert len(written) == 1 and f"written to {written[0]}" in res.out  # --out DIR: into it
    again = run_cli(
        ["deployment", "prepare", dep, "--home", str(home), "--passphrase-file-out", str(secret)]
    )  # fmt: skip
    assert again.code == 2 and "exists" in again.err
    assert secret.read_text().strip() == passphrase  # the first secret is untouched


def test_a_closed_pipe_stops_before_the_package_is_stored(
    tmp_path: Path, database_url: str
) -> None:
    home, dep = _home_with_deployment(tmp_path, database_url)
    before = _documents(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "certmgr.controller", "deployment", "prepare", dep],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "CERTMGR_HOME": str(home)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # ``| head -0``: nobody will ever read the passphrase
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err
    assert _documents(home) == before  # no package that nobody can open
    shown = run_cli(["deployment", "show", dep, "--home", str(home), "--json"]).json()
    assert shown["status"] == "draft"


def test_first_line_is_the_passphrase(tmp_path: Path, database_url: str) -> None:
    home, dep = _home_with_deployment(tmp_path, database_url)
    res = run_cli(["deployment", "prepare", dep, "--home", str(home)])
    assert res.code == 0, res.err
    first = res.out.splitlines()[0]
    assert first.startswith("passphrase (shown once")  # ``| head -1`` keeps the secret
