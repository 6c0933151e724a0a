"""The CA-certificate installer: store detection, command lines, plans and refusals.

The real ``update-ca-certificates`` and ``keytool`` runs are in tests/integration/oneclick.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from certmgr.oneclick import cli
from certmgr.oneclick.cacert import (
    TrustStore,
    apply_ca,
    detect_store,
    fingerprint_prefix,
    keytool_argv,
    load_ca,
    plan_ca,
    refresh_argv,
)
from certmgr.shared.errors import TargetAbsentError, TargetError, ValidationError
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.secret import Secret
from certmgr.shared.stamp import KIND_CACERT, cacert_payload, stamp
from certmgr.shared.targets import RealHost
from tests.factories.pki import TestPki, pem_bytes

from .conftest import RUNTIME

DEBIAN = TrustStore("debian", "/usr/local/share/ca-certificates")
RHEL = TrustStore("rhel", "/etc/pki/ca-trust/source/anchors")


def debian_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    (root / "etc/ssl/certs").mkdir(parents=True)
    return root


def ca_installer(tmp_path: Path, pem: bytes) -> Path:
    return stamp(RUNTIME, cacert_payload(pem, name="Test Root"), tmp_path / "ca-inst", KIND_CACERT)


def run(capsys: pytest.CaptureFixture[str], *argv: str, **kw: object) -> tuple[int, str, str]:
    code = cli.main(list(argv), **kw)  # type: ignore[arg-type]
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_refresh_commands(tmp_path: Path) -> None:
    assert refresh_argv(DEBIAN, None, uninstall=False) == ("update-ca-certificates",)
    assert refresh_argv(DEBIAN, None, uninstall=True) == ("update-ca-certificates", "--fresh")
    r = str(tmp_path.resolve())
    assert refresh_argv(DEBIAN, tmp_path, uninstall=False) == (
        "update-ca-certificates",
        "--certsconf",
        f"{r}/etc/ca-certificates.conf",
        "--certsdir",
        f"{r}/usr/share/ca-certificates",
        "--localcertsdir",
        f"{r}/usr/local/share/ca-certificates",
        "--etccertsdir",
        f"{r}/etc/ssl/certs",
        "--hooksdir",
        f"{r}/etc/ca-certificates/update.d",
    )
    assert refresh_argv(RHEL, None, uninstall=False) == ("update-ca-trust", "extract")
    assert refresh_argv(RHEL, None, uninstall=True) == ("update-ca-trust", "extract")
    assert refresh_argv(RHEL, tmp_path, uninstall=False) is None  # cannot be confined


def test_keytool_commands(tmp_path: Path) -> None:
    ks, pw, pem = tmp_path / "cacerts", tmp_path / "pw", tmp_path / "ca.pem"
    common = ("-alias", "certmgr-ab", "-keystore", str(ks), "-storepass:file", str(pw))
    assert keytool_argv("import", ks, "certmgr-ab", pw, pem) == (
        "keytool",
        "-importcert",
        "-noprompt",
        *common,
        "-file",
        str(pem),
    )
    assert keytool_argv("delete", ks, "certmgr-ab", pw) == ("keytool", "-delete", *common)
    assert keytool_argv("list", ks, "certmgr-ab", pw) == ("keytool", "-list", *common)
    with pytest.raises(ValidationError):
        keytool_argv("import", ks, "certmgr-ab", pw)


def test_detect_store(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    with pytest.raises(TargetAbsentError, match="no supported trust store"):
        detect_store(RealHost(root))
    (root / "etc/pki/ca-trust/source/anchors").mkdir(parents=True)
    assert detect_store(RealHost(root)) == RHEL
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    assert detect_store(RealHost(root)) == DEBIAN


def test_load_ca(session_pki: TestPki) -> None:
    assert load_ca(pem_bytes(session_pki.root)) == session_pki.root
    assert load_ca(pem_bytes(session_pki.intermediate)) == session_pki.intermediate
    with pytest.raises(ValidationError, match="not a CA certificate"):
        load_ca(pem_bytes(session_pki.leaf_a))
    with pytest.raises(ValidationError, match="exactly one"):
        load_ca(pem_bytes(session_pki.root, session_pki.intermediate))


def test_plan(tmp_path: Path, session_pki: TestPki) -> None:
    root = debian_root(tmp_path)
    fp = sha256_fingerprint(session_pki.root)[:16]
    assert fingerprint_prefix(session_pki.root) == fp
    plan = plan_ca(session_pki.root, RealHost(root), root=root, java_cacerts=tmp_path / "cacerts")
    assert plan.anchor_path == f"/usr/local/share/ca-certificates/certmgr-{fp}.crt"
    assert plan.alias == f"certmgr-{fp}"
    lines = plan.describe()
    assert lines[0] == f"write {plan.anchor_path} (debian trust store)"
    assert lines[1].startswith("run: update-ca-certificates --certsconf ")
    assert lines[2] == f"add alias certmgr-{fp} in Java keystore {tmp_path / 'cacerts'}"
    quiet = plan_ca(session_pki.root, RealHost(root), root=root, refresh=False, uninstall=True)
    assert quiet.describe() == [
        f"remove {plan.anchor_path} (debian trust store)",
        "refresh: skipped",
    ]


def test_dry_run_changes_nothing(
    tmp_path: Path, session_pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    root = debian_root(tmp_path)
    exe = ca_installer(tmp_path, pem_bytes(session_pki.root))
    code, out, _ = run(capsys, "--package", str(exe), "--root", str(root), "--dry-run")
    assert code == cli.EXIT_OK
    assert "CA certificate: CN=Test Root" in out and "dry run: nothing was changed" in out
    assert list((root / "usr/local/share/ca-certificates").iterdir()) == []


def test_files_only_install_and_uninstall(
    tmp_path: Path, session_pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    root = debian_root(tmp_path)
    exe = ca_installer(tmp_path, pem_bytes(session_pki.root))
    anchor = (
        root / f"usr/local/share/ca-certificates/certmgr-{fingerprint_prefix(session_pki.root)}.crt"
    )
    args = ("--package", str(exe), "--root", str(root), "--no-update", "--yes")
    code, out, _ = run(capsys, *args)
    assert code == cli.EXIT_OK and "done" in out
    assert anchor.read_bytes() == pem_bytes(session_pki.root)
    assert anchor.stat().st_mode & 0o777 == 0o644
    code, out, _ = run(capsys, *args, "--uninstall")
    assert code == cli.EXIT_OK and f"removed /usr/local/share/ca-certificates/{anchor.name}" in out
    assert not anchor.exists()
    code, out, _ = run(capsys, *args, "--uninstall")
    assert code == cli.EXIT_OK and "was not there" in out


class _KeytoolFails(RealHost):
    """The real file system under a root, but every keytool run fails (an injected seam)."""

    def which(self, program: str) -> str | None:
        return "/usr/bin/keytool" if program == "keytool" else super().which(program)

    def run(self, argv: tuple[str, ...], timeout: float) -> tuple[int, str]:
        if argv[0].endswith("keytool") and "-list" in argv:
            return (1, "keytool error: java.lang.Exception: Alias <certmgr-x> does not exist")
        if argv[0].endswith("keytool"):
            return (1, "keytool error: injected")
        return super().run(argv, timeout)


def test_a_failed_java_step_undoes_the_system_step(
    tmp_path: Path, session_pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    root = debian_root(tmp_path)
    cacerts = tmp_path / "cacerts"
    cacerts.write_bytes(b"pretend keystore")
    host = _KeytoolFails(root)
    plan = plan_ca(session_pki.root, host, root=root, refresh=False, java_cacerts=cacerts)
    with pytest.raises(TargetError, match="Java keystore failed"):
        apply_ca(plan, host, Secret("changeit"))
    assert list((root / "usr/local/share/ca-certificates").iterdir()) == []
    assert cacerts.read_bytes() == b"pretend keystore"


def test_refusals(tmp_path: Path, session_pki: TestPki, capsys: pytest.CaptureFixture[str]) -> None:
    root = debian_root(tmp_path)
    leaf = ca_installer(tmp_path, pem_bytes(session_pki.leaf_a))
    code, _, err = run(capsys, "--package", str(leaf), "--root", str(root), "--yes")
    assert code == cli.EXIT_REFUSED and "not a CA certificate" in err
    good = ca_installer(tmp_path, pem_bytes(session_pki.root))
    code, _, err = run(capsys, "--package", str(good), "--root", str(tmp_path / "nope"))
    assert code == cli.EXIT_INPUT and "is not a folder" in err
    empty = tmp_path / "empty-root"
    empty.mkdir()
    code, _, err = run(capsys, "--package", str(good), "--root", str(empty), "--yes")
    assert code == cli.EXIT_REFUSED and "no supported trust store" in err
    code, _, err = run(capsys, "--package", str(good), "--passphrase-file", "x")
    assert code == cli.EXIT_INPUT and "--passphrase-file does not apply" in err
    code, _, err = run(capsys, "--package", str(good), "--root", str(root))
    assert code == cli.EXIT_INPUT and "pass --yes" in err
    assert list((root / "usr/local/share/ca-certificates").iterdir()) == []


class _NoKeytool(RealHost):
    def which(self, program: str) -> str | None:
        return None if program.endswith("keytool") else super().which(program)


def test_missing_keytool_is_refused_before_anything_is_written(
    tmp_path: Path, session_pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    root = debian_root(tmp_path)
    with pytest.raises(TargetAbsentError, match="keytool is not installed"):
        plan_ca(session_pki.root, _NoKeytool(root), root=root, java_cacerts=tmp_path / "ks")


def test_an_unreadable_keystore_is_an_error_not_an_absent_alias(
    tmp_path: Path, session_pki: TestPki
) -> None:
    class WrongPassword(_KeytoolFails):
        def run(self, argv: tuple[str, ...], timeout: float) -> tuple[int, str]:
            if argv[0].endswith("keytool"):
                return (1, "keytool error: java.io.IOException: keystore password was incorrect")
            return super().run(argv, timeout)

    root = debian_root(tmp_path)
    cacerts = tmp_path / "cacerts"
    cacerts.write_bytes(b"pretend keystore")
    host = WrongPassword(root)
    plan = plan_ca(
        session_pki.root, host, root=root, refresh=False, java_cacerts=cacerts, uninstall=True
    )
    with pytest.raises(TargetError, match="password was incorrect"):
        apply_ca(plan, host, Secret("changeit"))
