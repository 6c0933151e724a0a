"""Finding 16: the console's TLS (also the agents' listener) meets Mozilla's "intermediate" profile.

A running ``certmgr serve`` is scanned with a real scanner, sslyze, whose Mozilla checker
decides compliance: TLS 1.2 and 1.3 only, TLS 1.2 AEAD suites only (no CBC), intermediate
curves only (no secp521r1, no X448), no known TLS vulnerability.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.factories.controller_proc import Controller
from tests.factories.homes import make_home
from tests.factories.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
SCANNER = ROOT / "tests" / "tools" / "mozilla_tls_scan.py"
SSLYZE_PYTHON = ROOT / ".venv-sslyze" / "bin" / "python"


def _scan(port: int, ca: Path) -> dict[str, object]:
    if not SSLYZE_PYTHON.exists():
        pytest.fail("sslyze is not installed: run 'scripts/bootstrap test' (it makes .venv-sslyze)")
    res = subprocess.run(  # noqa: S603 - fixed argv, loopback target
        [str(SSLYZE_PYTHON), str(SCANNER), "localhost", "127.0.0.1", str(port), str(ca)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_console_tls_mozilla_intermediate(tmp_path: Path) -> None:
    port = free_port()
    home = make_home(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", listen=f"127.0.0.1:{port}"
    )
    controller = Controller(home, port, tmp_path / "serve.log")
    controller.start()
    try:
        report = _scan(port, home / "ca" / "ca.pem")
    finally:
        controller.stop()
    assert report["issues"] == {}, report
    assert report["curves"], report
    curves, tls12_ciphers = report["curves"], report["tls12_ciphers"]
    assert isinstance(curves, list) and isinstance(tls12_ciphers, list), report
    assert not {"secp521r1", "X448"} & set(curves), report
    assert all("CBC" not in c for c in tls12_ciphers), report
