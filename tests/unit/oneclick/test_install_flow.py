"""The installer end to end in-process (``files`` target): install, dry run, receipt, log, rollback."""

from __future__ import annotations

import base64
import datetime as dt
import io

import pytest

from certmgr.oneclick import cli
from certmgr.shared.errors import TargetError
from certmgr.shared.pki import private_key_to_pkcs8_der
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.receipt import CheckResult, parse_receipt
from certmgr.shared.targets import RealHost
from tests.factories.pki import make_leaf, pem_bytes
from tests.factories.servers import free_port

from .conftest import PASSPHRASE, Kit

RECEIPT_LINE = "    CMR1-"


def run(capsys: pytest.CaptureFixture[str], *argv: str, **kwargs: object) -> tuple[int, str, str]:
    code = cli.main(list(argv), **kwargs)  # type: ignore[arg-type]
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def receipt_of(out: str) -> str:
    (line,) = [x for x in out.splitlines() if x.startswith(RECEIPT_LINE)]
    return line.strip()


def test_install_writes_the_files_and_prints_a_receipt(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    exe = kit.installer()
    code, out, err = run(
        capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--yes"
    )
    assert (code, err) == (cli.EXIT_OK, "")
    assert kit.srv_state() == {
        "cert.pem": pem_bytes(kit.pki.leaf_b),
        "chain.pem": pem_bytes(kit.pki.intermediate),
        "key.pem": pem_bytes(kit.pki.leaf_b_key),
    }
    assert (kit.srv / "key.pem").stat().st_mode & 0o777 == 0o600
    receipt = parse_receipt(receipt_of(out), kit.receipt_key)
    assert (receipt.deployment_id, receipt.sequence) == (42, 3)
    assert receipt.matches(sha256_fingerprint(kit.pki.leaf_b))
    assert receipt.result is CheckResult.SKIPPED
    assert "CN=leaf-B" in out and "localhost, 127.0.0.1, ::1" in out
    assert f"write {kit.srv / 'key.pem'} (mode 0600, private key material)" in out
    assert "local check: skipped" in out


def test_log_file_next_to_the_installer_holds_no_secrets(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    exe = kit.installer()
    code, out, _ = run(
        capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--yes"
    )
    assert code == cli.EXIT_OK
    log = (exe.parent / (exe.name + ".log")).read_text()
    assert receipt_of(out) in log and "deployment 42" in log
    key_der = private_key_to_pkcs8_der(kit.pki.leaf_b_key)
    for secret in (
        PASSPHRASE,
        pem_bytes(kit.pki.leaf_b_key).decode().splitlines()[1],
        base64.b64encode(key_der).decode()[:40],
        kit.receipt_key.hex(),
        base64.b64encode(kit.receipt_key).decode(),
    ):
        assert secret not in log and secret not in out
    # A second run appends.
    run(capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--yes")
    assert log in (exe.parent / (exe.name + ".log")).read_text()


def test_log_options(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = kit.installer()
    custom = kit.tmp / "custom.log"
    args = ["--package", str(exe), "--passphrase-file", str(kit.passfile), "--dry-run"]
    assert run(capsys, *args, "--log", str(custom))[0] == cli.EXIT_OK
    assert custom.exists() and not (kit.tmp / (exe.name + ".log")).exists()
    assert run(capsys, *args, "--no-log")[0] == cli.EXIT_OK
    assert not (kit.tmp / (exe.name + ".log")).exists()
    code, out, _ = run(capsys, *args, "--log", str(kit.tmp / "no" / "dir.log"))
    assert code == cli.EXIT_OK and "warning: cannot write the log file" in out


def test_dry_run_shows_the_plan_and_writes_nothing(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    exe = kit.installer()
    before = kit.srv_state()
    code, out, _ = run(
        capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--dry-run"
    )
    assert code == cli.EXIT_OK
    assert kit.srv_state() == before
    assert "dry run: nothing was written" in out and RECEIPT_LINE not in out
    assert f"write {kit.srv / 'cert.pem'}" in out
    assert "deployment 42, package sequence 3" in out
    assert "signed by controller key" in out


def test_reinstall_and_downgrade_notes(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = kit.installer()
    args = ("--package", str(exe), "--passphrase-file", str(kit.passfile), "--yes")
    assert run(capsys, *args)[0] == cli.EXIT_OK
    code, out, _ = run(capsys, *args)
    assert code == cli.EXIT_OK and "already holds this certificate" in out
    key, short = make_leaf(kit.pki.int_key, kit.pki.intermediate, "leaf-short", days=5)
    older = kit.manifest(
        certificate_pem=pem_bytes(short), private_key_pkcs8=private_key_to_pkcs8_der(key)
    )
    exe = kit.installer(older, name="older")
    code, out, _ = run(
        capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--dry-run"
    )
    assert code == cli.EXIT_OK
    assert "later than this package's" in out and "out of date" in out


def test_failed_validation_is_rolled_back(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    kit.local_config(validate_cmd=["false"])  # commands come from the host, never the package
    params = {"cert_path": str(kit.srv / "cert.pem"), "key_path": str(kit.srv / "key.pem")}
    exe = kit.installer(kit.manifest(target_params=params))
    before = kit.srv_state()
    code, out, err = run(
        capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--yes"
    )
    assert code == cli.EXIT_INSTALL_FAILED
    assert "install failed; the previous files are back" in err
    assert kit.srv_state() == before
    assert RECEIPT_LINE not in out


class _RollbackBreaks(RealHost):
    """A real host whose renames back from a backup fail: the rollback cannot finish."""

    def replace(self, src: str, dst: str) -> None:
        if ".certmgr-backup-" in src:
            raise TargetError(f"cannot rename {src} to {dst}: injected failure")
        super().replace(src, dst)


def test_failed_rollback_says_so(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    kit.local_config(validate_cmd=["false"])
    exe = kit.installer(kit.manifest(target_params={"cert_path": str(kit.srv / "cert.pem")}))
    code, _, err = run(
        capsys,
        "--package",
        str(exe),
        "--passphrase-file",
        str(kit.passfile),
        "--yes",
        host=_RollbackBreaks(),
    )
    assert code == cli.EXIT_ROLLBACK_FAILED
    assert "rollback failed" in err
    log = (exe.parent / (exe.name + ".log")).read_text()
    assert f"stopped (exit {cli.EXIT_ROLLBACK_FAILED})" in log


def test_local_check_failure_still_gives_a_receipt(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    params = {
        "cert_path": str(kit.srv / "cert.pem"),
        "key_path": str(kit.srv / "key.pem"),
        "check_host": "127.0.0.1",
        "check_port": free_port(),  # nothing listens there
        "check_sni": "localhost",
    }
    exe = kit.installer(kit.manifest(target_params=params))
    code, out, _ = run(
        capsys,
        "--package",
        str(exe),
        "--passphrase-file",
        str(kit.passfile),
        "--yes",
        "--check-timeout",
        "0.5",
    )
    assert code == cli.EXIT_CHECK_FAILED
    assert "TLS handshake with 127.0.0.1 port" in out and "server name: localhost" in out
    assert "local check: FAILED (unreachable)" in out
    receipt = parse_receipt(receipt_of(out), kit.receipt_key)
    assert receipt.result is CheckResult.UNREACHABLE
    assert receipt.matches(sha256_fingerprint(kit.pki.leaf_b))
    assert "The local check failed" in out


def test_passphrase_file_line_endings(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = kit.installer()
    for content in (
        PASSPHRASE.encode(),
        PASSPHRASE.encode() + b"\r\n",
        PASSPHRASE.encode() + b"\nmore",
    ):
        kit.passfile.write_bytes(content)
        code, _, _ = run(
            capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--dry-run"
        )
        assert code == cli.EXIT_OK, content
    kit.passfile.write_bytes(b" " + PASSPHRASE.encode())  # spaces belong to the passphrase
    code, _, err = run(
        capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--dry-run"
    )
    assert code == cli.EXIT_INPUT and "wrong passphrase" in err


def test_clock_is_injected_for_the_expiry(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    from certmgr.shared.clock import FakeClock

    exe = kit.installer()
    later = FakeClock(dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    code, _, err = run(
        capsys,
        "--package",
        str(exe),
        "--passphrase-file",
        str(kit.passfile),
        "--dry-run",
        clock=later,
    )
    assert code == cli.EXIT_REFUSED and "expired" in err


def test_passphrase_from_standard_input(
    kit: Kit, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = kit.installer()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(PASSPHRASE.encode() + b"\n")))
    code, out, _ = run(capsys, "--package", str(exe), "--passphrase-file", "-", "--dry-run")
    assert code == cli.EXIT_OK and "dry run" in out
