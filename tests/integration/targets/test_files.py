"""files with real validate and reload commands (argument lists, run by the real host)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography import x509

from certmgr.shared.errors import ValidationFailedError
from certmgr.shared.targets import RealHost, get_target, install
from tests.conftest import require_tool

from .conftest import Materials, tree


def _params(d: Path, materials: Materials) -> dict[str, object]:
    openssl = require_tool("openssl")
    return {
        "cert_path": str(d / "cert.pem"),
        "key_path": str(d / "key.pem"),
        "chain_path": str(d / "chain.pem"),
        "fullchain_path": str(d / "fullchain.pem"),
        "group": "0",
        "cert_mode": "0640",
        "validate_cmd": [
            openssl, "verify", "-CAfile", str(materials.files["root.pem"]),
            "-untrusted", str(d / "chain.pem"), str(d / "cert.pem"),
        ],
        "reload_cmd": ["cp", str(d / "fullchain.pem"), str(d / "reloaded-with.pem")],
    }  # fmt: skip


def test_files_install_runs_commands_on_the_new_files(tmp_path: Path, materials: Materials) -> None:
    target = get_target("files", _params(tmp_path, materials), RealHost())
    result = install(target, materials.a)
    assert result.validated and result.reloaded
    served = x509.load_pem_x509_certificates((tmp_path / "reloaded-with.pem").read_bytes())
    assert served == [materials.a.certificate, materials.pki.intermediate]
    assert os.stat(tmp_path / "key.pem").st_mode & 0o777 == 0o640  # a group gives 0640
    assert os.stat(tmp_path / "cert.pem").st_mode & 0o777 == 0o640
    install(target, materials.b)
    served = x509.load_pem_x509_certificates((tmp_path / "reloaded-with.pem").read_bytes())
    assert served[0] == materials.b.certificate
    assert [c.sha256 for c in target.inventory()] == [materials.b.sha256]


def test_failing_validate_cmd_rolls_back(tmp_path: Path, materials: Materials) -> None:
    target = get_target("files", _params(tmp_path, materials), RealHost())
    install(target, materials.a)
    before = tree(tmp_path)
    openssl = require_tool("openssl")
    strict = get_target(
        "files",
        {
            **_params(tmp_path, materials),
            # the test leaves live 30 days: "valid for 10 more years" fails
            "validate_cmd": [
                openssl,
                "x509",
                "-checkend",
                "315360000",
                "-noout",
                "-in",
                str(tmp_path / "cert.pem"),
            ],
        },
        RealHost(),
    )
    with pytest.raises(ValidationFailedError, match="will expire"):
        install(strict, materials.b)
    assert tree(tmp_path) == before


def test_mismatched_key_is_caught_before_the_commands(tmp_path: Path, materials: Materials) -> None:
    (tmp_path / "cert.pem").write_bytes(b"old")
    before = tree(tmp_path)
    with pytest.raises(ValidationFailedError, match="does not match"):
        install(get_target("files", _params(tmp_path, materials), RealHost()), materials.mismatched)
    assert tree(tmp_path) == before
