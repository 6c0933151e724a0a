"""The CA-certificate installer, frozen, against a confined real trust store and a real keytool.

``update-ca-certificates`` (Debian) takes a path option for every folder and file it touches, so
with ``--root`` the installer points all of them into a temporary tree and the real command runs
there without touching the machine's store. RHEL's ``update-ca-trust`` has no such options; its
command line is checked in tests/unit/oneclick/test_cacert.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from certmgr.oneclick.cacert import fingerprint_prefix
from certmgr.shared.stamp import KIND_CACERT, cacert_payload, stamp
from tests.conftest import require_tool
from tests.factories.pki import TestPki, make_ca, pem_bytes

from .conftest import run_exe

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _keytool_has(keytool: str, store: Path, alias: str, passfile: Path) -> bool:
    argv = [keytool, "-list", "-alias", alias, "-keystore", str(store)]
    proc = subprocess.run(
        [*argv, "-storepass:file", str(passfile)], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0


@pytest.fixture
def debian_root(tmp_path: Path) -> Path:
    """A Debian trust-store layout with one "distribution" CA, as a real system has (many)."""
    root = tmp_path / "root"
    for folder in (
        "usr/local/share/ca-certificates",
        "usr/share/ca-certificates/distro",
        "etc/ssl/certs",
    ):
        (root / folder).mkdir(parents=True)
    _, distro_ca = make_ca("Distribution CA")
    (root / "usr/share/ca-certificates/distro/Distribution_CA.crt").write_bytes(
        pem_bytes(distro_ca)
    )
    (root / "etc/ca-certificates.conf").write_text("distro/Distribution_CA.crt\n")
    return root


def test_trust_store_and_java_keystore_install_and_uninstall(
    runtime: Path, tmp_path: Path, debian_root: Path, pki: TestPki
) -> None:
    require_tool("update-ca-certificates")
    keytool = require_tool("keytool")
    fp = fingerprint_prefix(pki.root)
    exe = stamp(
        runtime,
        cacert_payload(pem_bytes(pki.root), name="Test Root CA"),
        tmp_path / "certmgr-ca-installer",
        KIND_CACERT,
    )
    storepass = tmp_path / "storepass"
    storepass.write_text("changeit\n")
    cacerts = tmp_path / "java" / "cacerts"
    cacerts.parent.mkdir()
    system_before = SYSTEM_BUNDLE.stat().st_mtime_ns if SYSTEM_BUNDLE.exists() else None
    args = [
        "--root",
        str(debian_root),
        "--java-cacerts",
        str(cacerts),
        "--java-storepass-file",
        str(storepass),
        "--yes",
    ]

    proc = run_exe(exe, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    anchor = debian_root / f"usr/local/share/ca-certificates/certmgr-{fp}.crt"
    link = debian_root / f"etc/ssl/certs/certmgr-{fp}.pem"
    bundle = debian_root / "etc/ssl/certs/ca-certificates.crt"
    assert anchor.read_bytes() == pem_bytes(pki.root)
    assert link.is_symlink() and link.resolve() == anchor.resolve()
    assert pem_bytes(pki.root).decode().strip() in bundle.read_text()
    assert _keytool_has(keytool, cacerts, f"certmgr-{fp}", storepass)
    assert "changeit" not in proc.stdout + proc.stderr

    again = run_exe(exe, *args)
    assert again.returncode == 0, again.stderr
    assert f"alias certmgr-{fp} is already in" in again.stdout

    removed = run_exe(exe, *args, "--uninstall")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not anchor.exists() and not link.exists() and not link.is_symlink()
    assert pem_bytes(pki.root).decode().strip() not in bundle.read_text()
    assert not _keytool_has(keytool, cacerts, f"certmgr-{fp}", storepass)

    # The machine's own store was never touched.
    assert not Path(f"/usr/local/share/ca-certificates/certmgr-{fp}.crt").exists()
    if system_before is not None:
        assert SYSTEM_BUNDLE.stat().st_mtime_ns == system_before


def test_wrong_java_password_undoes_the_trust_store_step(
    runtime: Path, tmp_path: Path, debian_root: Path, pki: TestPki
) -> None:
    require_tool("update-ca-certificates")
    keytool = require_tool("keytool")
    fp = fingerprint_prefix(pki.intermediate)
    cacerts = tmp_path / "cacerts"
    # A keystore that exists, with a password the installer is not given.
    root_pem = tmp_path / "r.pem"
    root_pem.write_bytes(pem_bytes(pki.root))
    made = subprocess.run(
        [keytool, "-importcert", "-noprompt", "-alias", "other", "-file", str(root_pem)]
        + ["-keystore", str(cacerts), "-storepass", "realpass1"],
        capture_output=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert cacerts.exists()
    before = cacerts.read_bytes()
    exe = stamp(runtime, cacert_payload(pem_bytes(pki.intermediate)), tmp_path / "ca2", KIND_CACERT)
    proc = run_exe(exe, "--root", str(debian_root), "--java-cacerts", str(cacerts), "--yes")
    assert proc.returncode == 8, proc.stdout + proc.stderr  # install failed, undone
    assert "earlier steps were undone" in proc.stderr
    assert not (debian_root / f"usr/local/share/ca-certificates/certmgr-{fp}.crt").exists()
    assert not (debian_root / f"etc/ssl/certs/certmgr-{fp}.pem").is_symlink()
    assert cacerts.read_bytes() == before
