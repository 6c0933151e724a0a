"""java-keystore against the real keytool: PKCS#12 and JKS stores that Java reads."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from certmgr.shared.errors import ReloadFailedError
from certmgr.shared.pki.fingerprint import colon_hex
from certmgr.shared.targets import RealHost, get_target, install
from tests.conftest import require_tool

from .conftest import Materials, tree


def _keytool_list(path: Path, storepass: str) -> str:
    keytool = require_tool("keytool")
    out = subprocess.run(
        [keytool, "-list", "-v", "-keystore", str(path), "-storepass", storepass],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.parametrize("kind", ["pkcs12", "jks"])
def test_keytool_reads_the_installed_store(tmp_path: Path, materials: Materials, kind: str) -> None:
    store = tmp_path / f"server.{kind}"
    target = get_target(
        "java-keystore",
        {
            "keystore_path": str(store),
            "keystore_type": kind,
            "store_password": "changeit",
            "alias": "tomcat",
        },
        RealHost(),
    )
    result = install(target, materials.a)
    assert result.sha256 == materials.a.sha256
    assert store.stat().st_mode & 0o777 == 0o600
    listing = _keytool_list(store, "changeit")
    assert f"Keystore type: {kind.upper()}" in listing
    assert "Alias name: tomcat" in listing
    assert "Entry type: PrivateKeyEntry" in listing
    assert "Certificate chain length: 2" in listing
    assert colon_hex(materials.a.sha256) in listing
    # replace A with B: keytool now sees B only
    install(target, materials.b)
    listing = _keytool_list(store, "changeit")
    assert colon_hex(materials.b.sha256) in listing
    assert colon_hex(materials.a.sha256) not in listing
    assert [c.sha256 for c in target.inventory()] == [materials.b.sha256]


def test_jks_key_password_opens_the_key_in_java(tmp_path: Path, materials: Materials) -> None:
    store = tmp_path / "server.jks"
    params = {
        "keystore_path": str(store),
        "keystore_type": "jks",
        "store_password": "store-pw",
        "key_password": "key-pw-2",
        "alias": "web",
    }
    install(get_target("java-keystore", params, RealHost()), materials.a)
    keytool = require_tool("keytool")
    out = subprocess.run(
        [
            keytool, "-importkeystore", "-noprompt",
            "-srckeystore", str(store), "-srcstoretype", "JKS", "-srcstorepass", "store-pw",
            "-srcalias", "web", "-srckeypass", "key-pw-2",
            "-destkeystore", str(tmp_path / "copy.p12"), "-deststoretype", "PKCS12",
            "-deststorepass", "copy-pw", "-destkeypass", "copy-pw",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert colon_hex(materials.a.sha256) in _keytool_list(tmp_path / "copy.p12", "copy-pw")


def test_failed_reload_restores_the_old_store(tmp_path: Path, materials: Materials) -> None:
    store = tmp_path / "server.p12"
    params = {"keystore_path": str(store), "store_password": "changeit"}
    install(get_target("java-keystore", params, RealHost()), materials.a)
    before = tree(tmp_path)
    failing = get_target("java-keystore", {**params, "reload_cmd": ["false"]}, RealHost())
    with pytest.raises(ReloadFailedError):
        install(failing, materials.b)
    assert tree(tmp_path) == before
    assert colon_hex(materials.a.sha256) in _keytool_list(store, "changeit")
