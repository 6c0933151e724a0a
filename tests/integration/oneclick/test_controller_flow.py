"""Issue 8 end to end: the controller stamps an installer for a deployment, the installer puts the
certificate into a real nginx, and its receipt closes the deployment; bad input changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import os
import re
import subprocess
from pathlib import Path

import pytest

from certmgr.shared.pki import sha256_fingerprint
from tests.factories.homes import amake_home, make_home, run_cli
from tests.factories.pki import TestPki, make_pki
from tests.factories.servers import NginxServer, served_leaf_sha256, wait_for_leaf


def _snapshot(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


def _home_with_leaf_a(
    tmp_path: Path, name: str, names: list[str]
) -> tuple[Path, TestPki, dict[str, Path]]:
    """A fresh home whose repository holds leaf A (with its key) as definition NAME."""
    pki = make_pki(names)
    files = pki.write(tmp_path / "pki")
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    res = run_cli(
        [
            "import", "--home", str(home), str(files["fullchainA.pem"]),
            "--key", str(files["leafA.key"]), "--name", name,
        ]
    )  # fmt: skip
    assert res.code == 0, res.err
    return home, pki, files


def test_controller_stamped_installer_on_real_nginx(
    tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CERTMGR_ONECLICK_RUNTIME", str(runtime))
    # the repository's current certificate is leaf A; nginx still serves leaf B
    home, pki, files = _home_with_leaf_a(tmp_path, "web", ["localhost", "127.0.0.1"])
    with NginxServer(tmp_path / "ngx", cert=files["fullchainB.pem"], key=files["leafB.key"]) as ngx:
        res = run_cli(
            [
                "deployment",
                "new",
                "web",
                "--home",
                str(home),
                "--server",
                "localhost",
                "--software",
                "nginx",
                "--delivery",
                "oneclick",
                "--check",
                f"127.0.0.1:{ngx.port}",
                "--sni",
                "localhost",
                "--json",
                "--param",
                f"cert_path={ngx.cert_path}",
                "--param",
                f"key_path={ngx.key_path}",
            ]
        )
        assert res.code == 0, res.err
        # How to run this private nginx and where it may write: the server's own configuration,
        # never the package (the controller refuses nginx_binary, prefix or conf parameters).
        config = tmp_path / "oneclick.toml"
        config.write_text(
            f'[nginx]\nallowed_paths = ["{ngx.prefix}"]\nnginx_binary = "{ngx.binary}"\n'
            f'prefix = "{ngx.prefix}"\nconf = "{ngx.conf_path}"\n'
        )
        monkeypatch.setenv("CERTMGR_ONECLICK_CONFIG", str(config))  # the installer inherits it
        dep = res.json()["id"]
        installer = tmp_path / "usb" / "install-web"
        installer.parent.mkdir()
        res = run_cli(
            ["deployment", "prepare", str(dep), "--home", str(home), "--out", str(installer)]
        )
        assert res.code == 0, res.err
        passphrase = re.search(r"shown once.*: (\S+)$", res.out.strip(), re.M)
        assert passphrase
        (tmp_path / "pw").write_text(passphrase.group(1) + "\n")
        (tmp_path / "wrong").write_text("not the passphrase\n")
        before = _snapshot(ngx.cert_path, ngx.key_path, ngx.conf_path)

        # bad input: wrong passphrase, flipped byte, truncated file -> refused, nothing written
        r = subprocess.run(
            [str(installer), "--passphrase-file", str(tmp_path / "wrong"), "--yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 2 and "passphrase" in (r.stdout + r.stderr).lower()
        flipped = tmp_path / "usb" / "flipped"
        data = bytearray(installer.read_bytes())
        data[-200] ^= 0x01
        flipped.write_bytes(bytes(data))
        flipped.chmod(0o755)
        r = subprocess.run(
            [str(flipped), "--passphrase-file", str(tmp_path / "pw"), "--yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode in (2, 7), r.stdout + r.stderr
        truncated = tmp_path / "usb" / "truncated"
        truncated.write_bytes(installer.read_bytes()[:-1000])  # inside the stamped payload
        truncated.chmod(0o755)
        r = subprocess.run(
            [str(truncated), "--passphrase-file", str(tmp_path / "pw"), "--yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode in (2, 7), r.stdout + r.stderr
        assert _snapshot(ngx.cert_path, ngx.key_path, ngx.conf_path) == before
        assert served_leaf_sha256("127.0.0.1", ngx.port) == sha256_fingerprint(pki.leaf_b)

        # dry run shows the plan and writes nothing
        r = subprocess.run(
            [str(installer), "--passphrase-file", str(tmp_path / "pw"), "--dry-run"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert str(ngx.cert_path) in r.stdout
        assert _snapshot(ngx.cert_path, ngx.key_path, ngx.conf_path) == before

        # the real run
        env = {k: v for k, v in os.environ.items() if k != "CERTMGR_ONECLICK_RUNTIME"}
        r = subprocess.run(
            [str(installer), "--passphrase-file", str(tmp_path / "pw"), "--yes"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert wait_for_leaf("127.0.0.1", ngx.port, sha256_fingerprint(pki.leaf_a))
        receipt = re.search(r"(CMR1-[A-Z0-9-]+)", r.stdout)
        assert receipt, r.stdout
        log = installer.with_name(installer.name + ".log")
        assert log.is_file() and passphrase.group(1) not in log.read_text()

        # the command the installer prints, run as printed, closes the deployment, once
        printed = re.search(
            r"^\s*certmgr (deployment receipt \d+ CMR1-[A-Z0-9-]+)$", r.stdout, re.M
        )
        assert printed, r.stdout
        assert printed.group(1) == f"deployment receipt {dep} {receipt.group(1)}"
        res = run_cli([*printed.group(1).split(), "--home", str(home)])
        assert res.code == 0, res.err
        assert "confirmed" in res.out
        again = run_cli(["deployment", "receipt", str(dep), receipt.group(1), "--home", str(home)])
        assert again.code == 4
        typo = receipt.group(1)[:-2] + ("QQ" if not receipt.group(1).endswith("QQ") else "ZZ")
        other = run_cli(["deployment", "receipt", str(dep), typo, "--home", str(home)])
        assert other.code != 0 and "Traceback" not in other.err


def test_ca_installer_is_stamped(
    tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CERTMGR_ONECLICK_RUNTIME", str(runtime))
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    out = tmp_path / "ca-installer"
    res = run_cli(["ca", "installer", "--home", str(home), "--out", str(out)])
    assert res.code == 0, res.err
    root = tmp_path / "root"
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    r = subprocess.run(
        [str(out), "--root", str(root), "--no-update", "--yes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    placed = list((root / "usr/local/share/ca-certificates").glob("certmgr-*.crt"))
    assert len(placed) == 1
    assert placed[0].read_bytes().strip() == (home / "ca" / "ca.pem").read_bytes().strip()
    r = subprocess.run(
        [str(out), "--root", str(root), "--no-update", "--yes", "--uninstall"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert not list((root / "usr/local/share/ca-certificates").glob("certmgr-*.crt"))


async def test_ca_installer_from_the_console(
    tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.factories.console import console_client, sign_in

    monkeypatch.setenv("CERTMGR_ONECLICK_RUNTIME", str(runtime))
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        assert (await c.client.get("/ca/installer")).status == 404
        resp = await c.post_form("/ca/installer", {}, from_page="/ca", allow_redirects=True)
        assert "CA certificate installer created" in await resp.text()
        got = await c.client.get("/ca/installer")
        assert got.status == 200
        assert "attachment" in got.headers["Content-Disposition"]
        data = await got.read()
        audit = await c.client.get("/audit", params={"action": "ca.installer-create"})
        assert 'mono">ca.installer-create</span>' in await audit.text()
        # an installer made for another CA certificate (the CA was replaced) is never handed out
        from certmgr.shared.stamp import cacert_payload, stamp

        kept = home / "ca" / "certmgr-ca-installer"
        other = make_pki(["localhost"]).write(tmp_path / "other")["root.pem"].read_bytes()
        await asyncio.to_thread(
            stamp, runtime, cacert_payload(other, name="old CA"), kept, "cacert"
        )
        assert (await c.client.get("/ca/installer")).status == 404
        assert 'href="/ca/installer"' not in await (await c.client.get("/ca")).text()
    out = tmp_path / "dl-installer"
    out.write_bytes(data)
    out.chmod(0o755)
    root = tmp_path / "root"
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    r = await asyncio.to_thread(
        functools.partial(
            subprocess.run,
            [str(out), "--root", str(root), "--no-update", "--yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    )
    assert r.returncode == 0, r.stdout + r.stderr
    placed = list((root / "usr/local/share/ca-certificates").glob("certmgr-*.crt"))
    assert [p.read_bytes().strip() for p in placed] == [
        (home / "ca" / "ca.pem").read_bytes().strip()
    ]


def test_protected_conventional_package_on_real_nginx(
    tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zip carries only the README and an unpacker; following the README installs it."""
    import zipfile

    from tests.conftest import require_tool
    from tests.factories.readme import follow_nginx_readme

    monkeypatch.setenv("CERTMGR_ONECLICK_RUNTIME", str(runtime))
    home, pki, files = _home_with_leaf_a(tmp_path, "Web shop / EU", ["localhost", "127.0.0.1"])
    with NginxServer(tmp_path / "ngx", cert=files["fullchainB.pem"], key=files["leafB.key"]) as ngx:
        res = run_cli(
            [
                "deployment", "new", "Web shop / EU", "--home", str(home), "--server", "localhost",
                "--software", "nginx", "--check", f"127.0.0.1:{ngx.port}", "--sni", "localhost",
                "--json",
            ]
        )  # fmt: skip
        dep = res.json()["id"]
        pw = tmp_path / "pw"
        pw.write_text("stick passphrase 42\n")
        zpath = tmp_path / "package.zip"
        res = run_cli(
            [
                "deployment", "prepare", str(dep), "--home", str(home), "--protect",
                "--passphrase-file", str(pw), "--out", str(zpath),
            ]
        )  # fmt: skip
        assert res.code == 0, res.err
        z = zipfile.ZipFile(zpath)
        assert sorted(z.namelist()) == [
            "leaf-A/README.txt",
            "leaf-A/certmgr-unpack-leaf-A",
        ]
        # nothing secret, nothing even encrypted, lies in the zip in the clear
        raw = zpath.read_bytes()
        assert b"PRIVATE KEY" not in raw and b"stick passphrase 42" not in raw
        # the unpacker is stored as it is (already compressed); the README says until when it works
        assert z.getinfo("leaf-A/certmgr-unpack-leaf-A").compress_type == zipfile.ZIP_STORED
        until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).strftime("%Y-%m-%d")
        assert f"until {until}" in z.read("leaf-A/README.txt").decode()
        shown = run_cli(["deployment", "show", str(dep), "--home", str(home), "--json"]).json()
        assert shown["status"] == "prepared"

        out = tmp_path / "stick"
        out.mkdir()
        subprocess.run([require_tool("unzip"), "-q", str(zpath), "-d", str(out)], check=True)
        folder = out / "leaf-A"
        assert os.access(folder / "certmgr-unpack-leaf-A", os.X_OK)
        # a wrong passphrase: refused, nothing written
        bad = tmp_path / "bad"
        bad.write_text("not it\n")
        r = subprocess.run(
            [
                str(folder / "certmgr-unpack-leaf-A"), "--unpack", ".",
                "--passphrase-file", str(bad), "--no-log",
            ],
            cwd=folder, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert r.returncode == 2 and "wrong passphrase" in r.stderr
        assert sorted(p.name for p in folder.iterdir()) == [
            "README.txt",
            "certmgr-unpack-leaf-A",
        ]
        follow_nginx_readme(folder, ngx, tmp_path / "ssl", "stick passphrase 42")
        assert wait_for_leaf("127.0.0.1", ngx.port, sha256_fingerprint(pki.leaf_a))
        assert oct((folder / "key.pem").stat().st_mode & 0o777) == "0o600"
        # unpacking again never overwrites
        r = subprocess.run(
            [
                str(folder / "certmgr-unpack-leaf-A"), "--unpack", ".",
                "--passphrase-file", str(pw), "--no-log",
            ],
            cwd=folder, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert r.returncode == 2 and "already in" in r.stderr
        res = run_cli(["deployment", "check", str(dep), "--done", "--home", str(home), "--json"])
        assert res.code == 0, res.out + res.err
    shown = run_cli(["deployment", "show", str(dep), "--home", str(home), "--json"]).json()
    assert shown["status"] == "confirmed"


def test_protected_package_needs_the_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CERTMGR_ONECLICK_RUNTIME", str(tmp_path / "missing"))
    monkeypatch.chdir(tmp_path)
    home, _, _ = _home_with_leaf_a(tmp_path, "web", ["localhost"])
    dep = run_cli(
        ["deployment", "new", "web", "--home", str(home), "--server", "localhost", "--json"]
    ).json()["id"]
    res = run_cli(["deployment", "prepare", str(dep), "--home", str(home), "--protect"])
    assert res.code == 6 and "not a file" in res.err and "Traceback" not in res.err
    shown = run_cli(["deployment", "show", str(dep), "--home", str(home), "--json"]).json()
    assert shown["status"] == "draft"
