"""``--unpack``: a protected conventional package becomes the same files an ordinary package holds."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certmgr.oneclick import cli
from certmgr.shared.packagefiles import UNPACK_TARGET, Layout
from certmgr.shared.pki import decode_keystore, sha256_fingerprint
from tests.conftest import require_tool

from .conftest import PASSPHRASE, Kit

LAYOUT = Layout(name="shop", pkcs12="shop.p12", jks="shop.jks")


def unpacker(kit: Kit, layout: Layout = LAYOUT, **overrides: object) -> Path:
    fields: dict[str, object] = {
        "target_type": UNPACK_TARGET,
        "target_params": dict(layout.params()),
        "receipt_key": None,
    }
    fields.update(overrides)
    return kit.installer(kit.manifest(**fields), name="certmgr-unpack-shop")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main([*argv, "--no-log"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_unpack_writes_the_package_files(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = unpacker(kit)
    dest = kit.tmp / "shop"
    code, out, err = run(
        capsys,
        "--package", str(exe), "--passphrase-file", str(kit.passfile), "--unpack", str(dest),
    )  # fmt: skip
    assert code == cli.EXIT_OK, err
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["cert.pem", "chain.pem", "fullchain.pem", "key.pem", "shop.jks", "shop.p12"]
    assert sha256_fingerprint(kit.pki.leaf_b) in out
    for name in ("key.pem", "shop.p12", "shop.jks"):
        assert stat.S_IMODE((dest / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((dest / "cert.pem").stat().st_mode) == 0o644
    # the key is the package's, still under the passphrase, as the README expects
    key = serialization.load_pem_private_key(
        (dest / "key.pem").read_bytes(), password=PASSPHRASE.encode()
    )
    assert key.public_key() == kit.pki.leaf_b_key.public_key()
    p12 = pkcs12.load_pkcs12((dest / "shop.p12").read_bytes(), PASSPHRASE.encode())
    assert p12.cert is not None and p12.cert.certificate == kit.pki.leaf_b
    kind, entries = decode_keystore((dest / "shop.jks").read_bytes(), PASSPHRASE.encode())
    assert kind == "jks" and [e.alias for e in entries] == ["tomcat"]
    openssl = require_tool("openssl")
    r = subprocess.run(
        [openssl, "pkey", "-in", str(dest / "key.pem"), "-passin", f"pass:{PASSPHRASE}", "-noout"],
        capture_output=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr


def test_dry_run_writes_nothing(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = unpacker(kit)
    dest = kit.tmp / "shop"
    code, out, _ = run(
        capsys,
        "--package", str(exe), "--passphrase-file", str(kit.passfile), "--unpack", str(dest),
        "--dry-run",
    )  # fmt: skip
    assert code == cli.EXIT_OK
    assert "key.pem" in out and "dry run" in out
    assert not dest.exists()


def test_never_overwrites(kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    exe = unpacker(kit)
    dest = kit.tmp / "shop"
    dest.mkdir()
    (dest / "README.txt").write_text("kept")
    (dest / "key.pem").write_text("someone's key")
    os.symlink(kit.tmp / "elsewhere", dest / "cert.pem")
    code, _, err = run(
        capsys,
        "--package", str(exe), "--passphrase-file", str(kit.passfile), "--unpack", str(dest),
    )  # fmt: skip
    assert code == cli.EXIT_INPUT
    assert "cert.pem, key.pem already in" in err and "nothing was written" in err
    assert sorted(p.name for p in dest.iterdir()) == ["README.txt", "cert.pem", "key.pem"]
    assert (dest / "key.pem").read_text() == "someone's key"
    assert not (kit.tmp / "elsewhere").exists()


def test_wrong_passphrase_and_flipped_byte_write_nothing(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    exe = unpacker(kit)
    dest = kit.tmp / "shop"
    kit.passfile.write_text("not the passphrase\n")
    code, _, err = run(
        capsys,
        "--package", str(exe), "--passphrase-file", str(kit.passfile), "--unpack", str(dest),
    )  # fmt: skip
    assert code == cli.EXIT_INPUT and "wrong passphrase" in err
    kit.passfile.write_text(PASSPHRASE + "\n")
    data = bytearray(exe.read_bytes())
    data[-200] ^= 0x01
    exe.write_bytes(bytes(data))
    code, _, err = run(
        capsys,
        "--package", str(exe), "--passphrase-file", str(kit.passfile), "--unpack", str(dest),
    )  # fmt: skip
    assert code == cli.EXIT_REFUSED and "Traceback" not in err
    assert not dest.exists()


def test_installer_and_unpacker_are_not_confused(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    before = kit.srv_state()
    code, _, err = run(
        capsys, "--package", str(unpacker(kit)), "--passphrase-file", str(kit.passfile), "--yes"
    )
    assert code == cli.EXIT_INPUT and "--unpack DIR" in err
    assert kit.srv_state() == before
    dest = kit.tmp / "out"
    code, _, err = run(
        capsys,
        "--package", str(kit.installer()), "--passphrase-file", str(kit.passfile),
        "--unpack", str(dest),
    )  # fmt: skip
    assert code == cli.EXIT_REFUSED and "run it without --unpack" in err
    assert not dest.exists()
    code, _, err = run(
        capsys,
        "--package", str(unpacker(kit)), "--passphrase-file", str(kit.passfile),
        "--unpack", str(dest), "--check-timeout", "3",
    )  # fmt: skip
    assert code == cli.EXIT_INPUT and "--check-timeout does not apply" in err


@pytest.mark.parametrize(
    "params",
    [
        {"name": "../../etc"},
        {"name": "shop", "pkcs12": "../shop.p12"},
        {"name": "shop", "jks": "/tmp/x.jks"},
        {"name": "shop", "extra": "x"},
        {"name": 3},
        {"name": "shop", "legacy_pkcs12": "yes"},
    ],
)
def test_hostile_layouts_are_refused(
    kit: Kit, capsys: pytest.CaptureFixture[str], params: dict[str, object]
) -> None:
    exe = kit.installer(
        kit.manifest(target_type=UNPACK_TARGET, target_params=params, receipt_key=None),
        name="certmgr-unpack-x",
    )
    dest = kit.tmp / "out"
    code, _, err = run(
        capsys,
        "--package", str(exe), "--passphrase-file", str(kit.passfile), "--unpack", str(dest),
    )  # fmt: skip
    assert code == cli.EXIT_REFUSED, err
    assert "Traceback" not in err
    assert not dest.exists()
    assert sorted(p.name for p in kit.tmp.iterdir()) == sorted(
        ["srv", "passphrase.txt", "oneclick.toml", "certmgr-unpack-x"]
    )


def test_interrupted_or_raced_writes_leave_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from certmgr.oneclick.unpack import Unpacked, write_unpacked
    from certmgr.shared.errors import ConflictError

    files = {"cert.pem": b"c", "chain.pem": b"ch", "key.pem": b"k"}
    plan = Unpacked(folder=tmp_path / "shop", files=files, subject="CN=x", sha256="00")
    real_fsync, calls = os.fsync, []

    def interrupted(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_unpacked(plan)
    assert list(plan.folder.iterdir()) == []
    monkeypatch.setattr(os, "fsync", real_fsync)
    (plan.folder / "key.pem").write_bytes(b"someone else's")  # appeared after the plan was made
    with pytest.raises(ConflictError):
        write_unpacked(plan)
    assert [p.name for p in plan.folder.iterdir()] == ["key.pem"]
    assert (plan.folder / "key.pem").read_bytes() == b"someone else's"
