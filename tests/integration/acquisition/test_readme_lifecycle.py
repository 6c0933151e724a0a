"""The README's lifecycle block runs as written on a fresh home (issue 15 items 1-6)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]


def _block() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- readme-example: lifecycle -->\s*```sh\n(.*?)```", readme, re.DOTALL)
    assert found, "README has no lifecycle block"
    return found.group(1)


def test_lifecycle_block_runs_as_written(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("CERTMGR_HOME", None)
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "refused: it has certificates" in proc.stdout
    shown = subprocess.run(
        ["certmgr", "definition", "show", "web-shop", "--json"],
        env={**env, "CERTMGR_HOME": str(tmp_path / "life" / "life-home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    d = json.loads(shown.stdout)
    assert d["current_certificate_id"] == 4 and d["archived"] is False
    assert d["requirements"]["validation"] == "EV" and d["deployments"][0]["status"] == "retired"
