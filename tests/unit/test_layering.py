"""Guard tests: one-way dependencies, no stray top-level imports, complete package list."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = ("sqlalchemy", "jinja2", "acme", "certmgr.controller", "alembic", "argon2")


def _loaded_after(imports: str) -> set[str]:
    code = f"import sys\n{imports}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    return set(out.stdout.split())


def test_agent_and_oneclick_do_not_load_controller_dependencies() -> None:
    mods = _loaded_after(
        "import certmgr.agent, certmgr.agent.cli, certmgr.oneclick, certmgr.oneclick.cli\n"
        "import certmgr.shared.pki, certmgr.shared.errors"
    )
    bad = sorted(m for m in mods for f in FORBIDDEN if m == f or m.startswith(f + "."))
    assert bad == []


def test_shared_imports_no_part() -> None:
    mods = _loaded_after(
        "import certmgr.shared.pki, certmgr.shared.errors, certmgr.shared.secret, certmgr.shared.clock"
    )
    assert not any(
        m.startswith(("certmgr.controller", "certmgr.agent", "certmgr.oneclick")) for m in mods
    )


def test_no_second_copy_through_top_level_names() -> None:
    mods = _loaded_after(
        "import certmgr.controller.cli, certmgr.controller.app, certmgr.agent.cli, certmgr.oneclick.cli"
    )
    assert not {"shared", "controller", "agent", "oneclick", "webui"} & mods


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = set()
    for top in ("controller", "agent", "oneclick", "shared", "webui"):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            found.add("certmgr." + ".".join(rel.parts))
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"


def test_cli_parsers_load_nothing_heavy() -> None:
    # ``certmgr --help`` builds every parser: the handlers and their services load only when run
    mods = _loaded_after("import certmgr.controller.cli\ncertmgr.controller.cli.build_parser()")
    heavy = ("sqlalchemy", "alembic", "aiohttp", "jinja2", "acme", "argon2", "nacl")
    assert sorted(m for m in mods for h in heavy if m == h or m.startswith(h + ".")) == []
    assert not any(m.startswith("certmgr.controller.services") for m in mods)


def test_read_only_listing_handlers_load_no_issuer() -> None:
    # ``definition list`` reads rows: the ACME client, the HTTP client, the issuers and the
    # certificate library (about a fifth of the start-up) stay unloaded
    mods = _loaded_after(
        "import certmgr.controller.cli.base, certmgr.controller.cli.definition_run"
    )
    heavy = (
        "acme",
        "aiohttp",
        "josepy",
        "nacl",
        "certmgr.controller.issuers",
        "certmgr.shared.pki",
        "cryptography",
        # models load per aggregate, on first use: a listing of definitions builds no agent,
        # monitoring, discovery or user mappers
        "certmgr.controller.db.models.agents",
        "certmgr.controller.db.models.monitoring",
        "certmgr.controller.db.models.discovery",
        "certmgr.controller.db.models.users",
    )
    assert sorted(m for m in mods for h in heavy if m == h or m.startswith(h + ".")) == []
