"""The stamped runtime against a real nginx: installed, served, receipt; bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from certmgr.shared.envelope import KdfLimits
from certmgr.shared.pki import private_key_to_pkcs8_der
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.receipt import CheckResult, parse_receipt
from certmgr.shared.stamp import MAGIC, TRAILER_SIZE
from tests.factories.pki import TestPki, pem_bytes
from tests.factories.servers import NginxServer, served_leaf_sha256, wait_for_leaf

from .conftest import Packager, receipt_in, run_exe


def _nginx_params(srv: NginxServer, **extra: Any) -> dict[str, Any]:
    """What a package says: the files and the check, nothing about how to run nginx."""
    return {
        "cert_path": str(srv.cert_path),
        "key_path": str(srv.key_path),
        "check_host": "127.0.0.1",
        "check_port": srv.port,
        "check_sni": "localhost",
        **extra,
    }


def _local_config(srv: NginxServer, path: Path, allowed: list[Path] | None = None) -> Path:
    """This host's own installer configuration: how to run this private nginx, where to write."""
    listed = ", ".join(f'"{p}"' for p in (allowed or [srv.prefix]))
    path.write_text(
        "[nginx]\n"
        f"allowed_paths = [{listed}]\n"
        f'nginx_binary = "{srv.binary}"\n'
        f'prefix = "{srv.prefix}"\n'
        f'conf = "{srv.conf_path}"\n'
        "timeout = 30\n"
    )
    return path


def _leaf(pki: TestPki, which: str) -> dict[str, Any]:
    leaf, key = (pki.leaf_a, pki.leaf_a_key) if which == "a" else (pki.leaf_b, pki.leaf_b_key)
    return {
        "certificate_pem": pem_bytes(leaf),
        "chain_pem": pem_bytes(pki.intermediate),
        "private_key_pkcs8": private_key_to_pkcs8_der(key),
    }


def _managed(srv: NginxServer) -> dict[str, Any]:
    files = {n: (srv.prefix / n).read_bytes() for n in ("nginx.conf", "cert.pem", "key.pem")}
    listing = sorted(p.name for p in srv.prefix.iterdir() if not p.name.endswith((".log", ".pid")))
    return {**files, "listing": listing, "key_mode": srv.key_path.stat().st_mode}


@pytest.fixture
def nginx(tmp_path: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch) -> Any:
    files = pki.write(tmp_path / "pki")
    with NginxServer(tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"]) as srv:
        config = _local_config(srv, tmp_path / "oneclick.toml")
        monkeypatch.setenv("CERTMGR_ONECLICK_CONFIG", str(config))  # the installers inherit it
        yield srv


def test_installs_on_nginx_and_the_receipt_checks_out(
    packager: Packager, nginx: NginxServer, pki: TestPki
) -> None:
    b_sha = sha256_fingerprint(pki.leaf_b)
    manifest = packager.manifest("nginx", _nginx_params(nginx), **_leaf(pki, "b"))
    # The controller's default Argon2id cost (MODERATE), as a real package has it.
    exe = packager.installer(manifest, limits=KdfLimits.MODERATE)
    proc = run_exe(exe, "--passphrase-file", str(packager.passphrase_file()), "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert wait_for_leaf(nginx.host, nginx.port, b_sha), nginx.log()
    receipt = parse_receipt(receipt_in(proc.stdout), packager.receipt_key)
    assert (receipt.deployment_id, receipt.sequence) == (42, 5)
    assert receipt.matches(b_sha) and not receipt.matches(sha256_fingerprint(pki.leaf_a))
    assert receipt.result is CheckResult.OK
    assert "local check: passed" in proc.stdout
    assert f"served sha256: {b_sha}" in proc.stdout
    assert nginx.key_path.stat().st_mode & 0o777 == 0o600
    log = (exe.parent / (exe.name + ".log")).read_text()
    assert receipt_in(proc.stdout) in log and "nginx -s reload" in log
    assert pem_bytes(pki.leaf_b_key).decode().splitlines()[1] not in log


def test_an_older_package_run_again_is_caught_by_its_receipt(
    packager: Packager, nginx: NginxServer, pki: TestPki
) -> None:
    # The installer keeps no state on the host, so it cannot refuse an older sequence itself.
    # What guards a replay: the package's expiry, and the controller, which accepts a receipt
    # only for the deployment's current sequence and only once. This test shows the older run
    # is visible in its receipt.
    passfile = packager.passphrase_file()
    new = packager.installer(
        packager.manifest("nginx", _nginx_params(nginx), sequence=6, **_leaf(pki, "b")), "new"
    )
    old = packager.installer(
        packager.manifest("nginx", _nginx_params(nginx), sequence=4, **_leaf(pki, "a")), "old"
    )
    first = run_exe(new, "--passphrase-file", str(passfile), "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    again = run_exe(old, "--passphrase-file", str(passfile), "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert wait_for_leaf(nginx.host, nginx.port, sha256_fingerprint(pki.leaf_a))
    newer = parse_receipt(receipt_in(first.stdout), packager.receipt_key)
    older = parse_receipt(receipt_in(again.stdout), packager.receipt_key)
    assert (newer.sequence, older.sequence) == (6, 4)
    assert older.sequence < newer.sequence  # the controller refuses it: not the current sequence


def _flip(at: int) -> Any:
    def change(exe: Path) -> None:
        data = bytearray(exe.read_bytes())
        data[at] ^= 0x20
        exe.write_bytes(bytes(data))

    return change


def _truncate(exe: Path) -> None:
    exe.write_bytes(exe.read_bytes()[:-1000])


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("wrong-passphrase", 2, "wrong passphrase"),
        ("flip-first-payload-byte", 7, "damaged or truncated"),
        ("flip-middle", 7, "damaged or truncated"),
        ("flip-last-payload-byte", 7, "damaged or truncated"),
        ("flip-trailer", 7, "damaged or truncated"),
        ("truncated", 7, "damaged or truncated"),
        ("expired", 7, "package expired"),
        ("paths-outside", 7, "path not allowed by the target"),
        ("other-host", 7, "does not exist"),
        ("no-stamp", 2, "this installer carries no package"),
    ],
)
def test_bad_input_changes_nothing_on_disk(
    packager: Packager, nginx: NginxServer, pki: TestPki, case: str, code: int, message: str
) -> None:
    passfile = packager.passphrase_file()
    params = _nginx_params(nginx)
    fields: dict[str, Any] = _leaf(pki, "b")
    now = dt.datetime.now(dt.UTC)
    if case == "expired":
        fields |= {
            "created_at": now - dt.timedelta(days=9),
            "expires_at": now - dt.timedelta(days=2),
        }
    if case == "paths-outside":  # this host allows the certificate file only, not the key
        _local_config(nginx, Path(os.environ["CERTMGR_ONECLICK_CONFIG"]), [nginx.cert_path])
    if case == "other-host":
        params |= {"cert_path": "/etc/nginx-elsewhere/ssl/site.crt"}
    exe = packager.installer(packager.manifest("nginx", params, **fields))
    size = exe.stat().st_size
    payload_start = packager.runtime.stat().st_size + len(MAGIC)  # after the start marker
    change = {
        "wrong-passphrase": lambda _: passfile.write_text("tulip-orbit-7-kettlE\n"),
        "flip-first-payload-byte": _flip(payload_start),
        "flip-middle": _flip((payload_start + size) // 2),
        "flip-last-payload-byte": _flip(size - TRAILER_SIZE - 1),
        "flip-trailer": _flip(size - 40),
        "truncated": _truncate,
        "no-stamp": lambda e: e.write_bytes(packager.runtime.read_bytes()),
    }.get(case)
    if change is not None:
        change(exe)
    before = _managed(nginx)
    proc = run_exe(exe, "--passphrase-file", str(passfile), "--yes")
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and "CMR1-" not in proc.stdout
    assert _managed(nginx) == before
    assert served_leaf_sha256(nginx.host, nginx.port) == sha256_fingerprint(pki.leaf_a)


def test_dry_run_against_nginx(packager: Packager, nginx: NginxServer, pki: TestPki) -> None:
    exe = packager.installer(packager.manifest("nginx", _nginx_params(nginx), **_leaf(pki, "b")))
    before = _managed(nginx)
    proc = run_exe(exe, "--passphrase-file", str(packager.passphrase_file()), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "validate: " in proc.stdout and "reload: " in proc.stdout
    assert "dry run: nothing was written" in proc.stdout
    assert _managed(nginx) == before
