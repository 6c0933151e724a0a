"""Every bad input is refused with a plain message and a non-zero exit, before anything is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nacl.signing
import pytest

from certmgr.oneclick import cli
from certmgr.shared.envelope import KdfLimits, key_id, seal_with_passphrase
from certmgr.shared.pki import private_key_to_pkcs8_der
from certmgr.shared.stamp import KIND_DEPLOY, MAGIC, TRAILER_SIZE, deploy_payload, stamp

from .conftest import PASSPHRASE, RUNTIME, Kit


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def attempt(
    kit: Kit, capsys: pytest.CaptureFixture[str], exe: Path, *extra: str
) -> tuple[int, str]:
    """Run a real (non dry-run) install; assert nothing changed; return the code and stderr."""
    before = kit.srv_state()
    listing = sorted(p.name for p in kit.srv.iterdir())
    code, out, err = run(
        capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile), "--yes", *extra
    )
    assert kit.srv_state() == before
    assert sorted(p.name for p in kit.srv.iterdir()) == listing
    assert "Receipt code" not in out
    assert err.startswith("certmgr-oneclick: ") and "Traceback" not in err
    return code, err


def test_wrong_passphrase(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = kit.installer()
    kit.passfile.write_text("not the passphrase\n")
    code, err = attempt(kit, capsys, exe)
    assert code == cli.EXIT_INPUT
    assert "wrong passphrase" in err


def test_empty_or_missing_passphrase_file(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = kit.installer()
    kit.passfile.write_text("\n")
    assert attempt(kit, capsys, exe) == (
        cli.EXIT_INPUT,
        f"certmgr-oneclick: the passphrase file {kit.passfile} is empty\n",
    )
    kit.passfile.unlink()
    code, err = attempt(kit, capsys, exe)
    assert code == cli.EXIT_INPUT and "cannot read the passphrase file" in err


@pytest.mark.parametrize(
    "where",
    [
        "start-marker",
        "payload-magic",
        "verify-key",
        "package-header",
        "package-salt",
        "package-middle",
        "package-last",
        "trailer-magic",
        "trailer-kind",
        "trailer-length",
        "trailer-digest",
    ],
)
def test_a_flipped_byte_anywhere_in_the_payload(
    kit: Kit, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    exe = kit.installer()
    data = bytearray(exe.read_bytes())
    start, end = len(RUNTIME) + len(MAGIC), len(data) - TRAILER_SIZE
    offsets = {
        "start-marker": len(RUNTIME) + 3,
        "payload-magic": start + 2,
        "verify-key": start + 10 + 5,
        "package-header": start + 10 + 32 + 2 + len("web01 files") + 2,
        "package-salt": start + 10 + 32 + 2 + len("web01 files") + 6 + 4,
        "package-middle": (start + end) // 2,
        "package-last": end - 1,
        "trailer-magic": end + 1,
        "trailer-kind": end + 8,
        "trailer-length": end + 8 + 16 + 7,
        "trailer-digest": len(data) - 1,
    }
    data[offsets[where]] ^= 0x40
    exe.write_bytes(bytes(data))
    code, err = attempt(kit, capsys, exe)
    assert code == cli.EXIT_REFUSED
    assert "damaged or truncated" in err


@pytest.mark.parametrize("cut", [1, TRAILER_SIZE, TRAILER_SIZE + 1, 300, 2000])
def test_a_truncated_installer(kit: Kit, capsys: pytest.CaptureFixture[str], cut: int) -> None:
    exe = kit.installer()
    exe.write_bytes(exe.read_bytes()[:-cut])
    code, err = attempt(kit, capsys, exe)
    assert code == cli.EXIT_REFUSED
    assert "damaged or truncated" in err


def test_an_altered_package_behind_a_recomputed_stamp(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    # Someone who re-stamps a changed package defeats the stamp's hash, not the envelope.
    sealed = bytearray(
        seal_with_passphrase(
            kit.manifest(), kit.signing_key, PASSPHRASE.encode(), limits=KdfLimits.INTERACTIVE
        )
    )
    sealed[-10] ^= 0x01
    payload = deploy_payload(bytes(kit.signing_key.verify_key), bytes(sealed))
    exe = stamp(RUNTIME, payload, kit.tmp / "altered", KIND_DEPLOY)
    code, err = attempt(kit, capsys, exe)
    assert code == cli.EXIT_REFUSED
    assert "damaged or was altered" in err


def test_signed_by_another_key_than_the_carried_one(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    other = nacl.signing.SigningKey.generate()
    exe = kit.installer(verify_key=bytes(other.verify_key))
    code, err = attempt(kit, capsys, exe)
    assert code == cli.EXIT_REFUSED
    assert "signature" in err


def test_pinned_controller_key(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = kit.installer()
    code, err = attempt(kit, capsys, exe, "--controller-key-id", "0" * 32)
    assert code == cli.EXIT_REFUSED
    assert f"signed by controller key {key_id(kit.signing_key.verify_key)}, not" in err
    good = key_id(kit.signing_key.verify_key).upper()
    code, _, _ = run(
        capsys,
        "--package",
        str(exe),
        "--passphrase-file",
        str(kit.passfile),
        "--dry-run",
        "--controller-key-id",
        good,
    )
    assert code == cli.EXIT_OK


def test_an_expired_package(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    manifest = kit.manifest(
        created_at=now - dt.timedelta(days=8), expires_at=now - dt.timedelta(days=1)
    )
    code, err = attempt(kit, capsys, kit.installer(manifest))
    assert code == cli.EXIT_REFUSED
    assert "package expired at" in err


def test_paths_outside_the_declared_ones(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = kit.tmp / "elsewhere"
    elsewhere.mkdir()
    # the host's configuration allows kit.srv only
    params = {"cert_path": str(kit.srv / "cert.pem"), "key_path": str(elsewhere / "key.pem")}
    code, err = attempt(kit, capsys, kit.installer(kit.manifest(target_params=params)))
    assert code == cli.EXIT_REFUSED
    assert f"path not allowed by the target: {elsewhere / 'key.pem'}" in err
    assert list(elsewhere.iterdir()) == []


def test_operator_allow_list(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = kit.installer()
    code, err = attempt(kit, capsys, exe, "--allow-path", str(kit.tmp / "other"))
    assert code == cli.EXIT_REFUSED
    assert "path not allowed" in err
    code, _, _ = run(
        capsys,
        "--package",
        str(exe),
        "--passphrase-file",
        str(kit.passfile),
        "--dry-run",
        "--allow-path",
        str(kit.srv),
    )
    assert code == cli.EXIT_OK


def test_a_symlinked_file_is_refused(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    target = kit.tmp / "victim"
    target.write_bytes(b"do not touch")
    (kit.srv / "chain.pem").unlink()
    (kit.srv / "chain.pem").symlink_to(target)
    code, err = attempt(kit, capsys, kit.installer())
    assert code == cli.EXIT_REFUSED and "path not allowed" in err
    assert target.read_bytes() == b"do not touch"


def test_a_package_for_another_hosts_paths(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    params = {
        "cert_path": "/etc/certmgr-test-no-such-dir/cert.pem",
        "key_path": "/etc/certmgr-test-no-such-dir/key.pem",
    }
    code, err = attempt(kit, capsys, kit.installer(kit.manifest(target_params=params)))
    assert code == cli.EXIT_REFUSED
    assert "directory /etc/certmgr-test-no-such-dir does not exist" in err


def test_a_target_program_that_is_missing(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    kit.local_config(reload_cmd=["certmgr-no-such-program"])
    params = {"cert_path": str(kit.srv / "cert.pem")}
    code, err = attempt(kit, capsys, kit.installer(kit.manifest(target_params=params)))
    assert code == cli.EXIT_REFUSED
    assert "certmgr-no-such-program is not installed" in err


def test_a_key_of_another_certificate(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = kit.manifest(private_key_pkcs8=private_key_to_pkcs8_der(kit.pki.leaf_a_key))
    code, err = attempt(kit, capsys, kit.installer(manifest))
    assert code == cli.EXIT_REFUSED
    assert "private key does not match" in err


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cert_path": "relative.pem"}, "absolute"),
        ({"unknown": 1}, "unknown parameter"),
        ({"check_host": ""}, "check_host"),
        ({"check_host": "localhost", "check_port": 70000}, "check_port"),
        ({"check_port": 443}, "need check_host"),
        ({"check_host": "localhost", "check_sni": 5}, "check_sni"),
    ],
)
def test_bad_target_parameters(
    kit: Kit, capsys: pytest.CaptureFixture[str], params: dict[str, object], message: str
) -> None:
    base: dict[str, object] = {"cert_path": str(kit.srv / "cert.pem")}
    manifest = kit.manifest(target_params={**base, **params})
    code, err = attempt(kit, capsys, kit.installer(manifest))
    assert code == cli.EXIT_REFUSED
    assert message in err


def test_no_receipt_key(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = attempt(kit, capsys, kit.installer(kit.manifest(receipt_key=None)))
    assert code == cli.EXIT_REFUSED and "no receipt key" in err


def test_no_stamp(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    bare = kit.tmp / "certmgr-oneclick-runtime"
    bare.write_bytes(RUNTIME)
    code, err = attempt(kit, capsys, bare)
    assert code == cli.EXIT_INPUT
    assert "this installer carries no package" in err
    code, _, err = run(capsys, "--passphrase-file", str(kit.passfile))  # not frozen, no --package
    assert code == cli.EXIT_INPUT and "carries no package" in err


def test_no_terminal(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = kit.installer()
    code, _, err = run(capsys, "--package", str(exe), "--dry-run")
    assert code == cli.EXIT_INPUT and "use --passphrase-file" in err
    before = kit.srv_state()
    code, _, err = run(capsys, "--package", str(exe), "--passphrase-file", str(kit.passfile))
    assert code == cli.EXIT_INPUT and "pass --yes" in err
    assert kit.srv_state() == before


def test_options_of_the_other_kind_and_usage_errors(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    exe = kit.installer()
    code, _, err = run(capsys, "--package", str(exe), "--uninstall")
    assert code == cli.EXIT_INPUT and "--uninstall does not apply to a certificate package" in err
    assert run(capsys, "--no-such-option")[0] == cli.EXIT_INPUT
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("certmgr-oneclick ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[files\n", "not valid TOML"),
        ('[files]\ncolour = "red"\n', "has no parameter 'colour'"),
        ('[gopher]\nallowed_paths = ["/srv"]\n', "is not a target type"),
    ],
)
def test_a_broken_local_configuration_is_bad_input(
    kit: Kit, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = kit.tmp / "broken.toml"
    config.write_text(text)
    code, err = attempt(kit, capsys, kit.installer(), "--config", str(config))
    assert code == cli.EXIT_INPUT
    assert message in err


def test_without_a_local_allow_list_files_may_go_nowhere(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = kit.tmp / "empty.toml"
    empty.write_text("")
    code, err = attempt(kit, capsys, kit.installer(), "--config", str(empty))
    assert code == cli.EXIT_REFUSED
    assert "names no folders the files target may write" in err
    # --allow-path on the command line is this host's word too
    code, _, _ = run(
        capsys,
        "--package", str(kit.installer()), "--passphrase-file", str(kit.passfile), "--dry-run",
        "--config", str(empty), "--allow-path", str(kit.srv),
    )  # fmt: skip
    assert code == cli.EXIT_OK
