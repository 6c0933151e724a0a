"""certmgr (the console's own certificate): files the controller's TLS loader and openssl accept."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from certmgr.shared.errors import ReloadFailedError
from certmgr.shared.targets import RealHost, get_target, install
from tests.conftest import require_tool

from .conftest import Materials, tree


def _pubkey(*args: str) -> str:
    out = subprocess.run(
        [require_tool("openssl"), *args], capture_output=True, text=True, timeout=30, check=True
    )
    return out.stdout


def test_console_files_load_like_certmgr_serve_loads_them(
    tmp_path: Path, materials: Materials
) -> None:
    (tmp_path / "tls").mkdir(mode=0o700)
    params = {
        "home": str(tmp_path),
        "key_password": "derived-from-master-key",
        "reload_cmd": ["true"],
    }
    target = get_target("certmgr", params, RealHost())
    result = install(target, materials.a)
    assert result.reloaded
    cert, key = tmp_path / "tls" / "console.pem", tmp_path / "tls" / "console.key"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(
        cert, key, password=b"derived-from-master-key"
    )  # what controller/server.py does
    assert _pubkey(
        "pkey", "-in", str(key), "-passin", "pass:derived-from-master-key", "-pubout"
    ) == _pubkey("x509", "-in", str(cert), "-pubkey", "-noout")
    assert key.stat().st_mode & 0o777 == 0o600
    assert [c.sha256 for c in target.inventory()] == [materials.a.sha256]


def test_console_failed_restart_keeps_the_old_pair(tmp_path: Path, materials: Materials) -> None:
    (tmp_path / "tls").mkdir(mode=0o700)
    params = {"home": str(tmp_path), "key_password": "pw"}
    install(get_target("certmgr", params, RealHost()), materials.a)
    before = tree(tmp_path)
    with pytest.raises(ReloadFailedError):
        install(get_target("certmgr", {**params, "reload_cmd": ["false"]}, RealHost()), materials.b)
    assert tree(tmp_path) == before
