"""Every agent module (not only the CLI entry) stays free of the controller's dependencies."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "jinja2", "acme", "certmgr.controller", "alembic", "argon2")
MODULES = ("cli", "settings", "state", "client", "enroll", "runner", "install", "inventory",
           "keygen", "check", "status")  # fmt: skip


def test_agent_modules_load_no_controller_dependencies() -> None:
    imports = "; ".join(f"import certmgr.agent.{m}" for m in MODULES)
    code = f"import sys; {imports}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    ).stdout.split()
    bad = sorted(m for m in out for f in FORBIDDEN if m == f or m.startswith(f + "."))
    assert bad == []
    assert "shared" not in out and "agent" not in out
    assert "certmgr.shared.protocol" in out


def test_the_run_command_does_not_load_zeroconf() -> None:
    code = "import sys, certmgr.agent.runner; print('zeroconf' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    ).stdout
    assert out.strip() == "False"
