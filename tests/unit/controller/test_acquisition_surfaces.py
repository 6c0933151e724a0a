"""The acquisition and repository surfaces (console, API, CLI) parse, call one service and render: no SQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "controller"
SURFACES = [
    "web/console/definitions.py",
    "web/console/certificates.py",
    "web/console/requests.py",
    "web/console/imports.py",
    "web/api/definitions.py",
    "web/api/acquisition.py",
    "web/api/accounts.py",
    "cli/definition_run.py",
    "cli/certificate_run.py",
    "cli/request_run.py",
    "cli/import_run.py",
    "cli/vendor_run.py",
    "cli/ca_run.py",
]
FORBIDDEN = re.compile(
    r"^[ \t]*(from|import) (sqlalchemy|certmgr\.controller\.db\.models)"
    r"|db\.reader\(\)|db\.transaction\(\)|\.execute\("
    r"|^[ \t]+(from|import) certmgr",  # no in-function certmgr imports either
    re.MULTILINE,
)


@pytest.mark.parametrize("name", SURFACES)
def test_surface_holds_no_sql(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    assert [m.group(0) for m in FORBIDDEN.finditer(text)] == []
