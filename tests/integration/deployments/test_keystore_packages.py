"""Conventional packages for Tomcat and IIS: the keystores in the zip open with the real tools
(keytool, openssl) under the package passphrase and hold the repository's certificate and key."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

from certmgr.shared.pki import sha256_fingerprint
from tests.conftest import require_tool
from tests.factories.homes import make_home, run_cli
from tests.factories.pki import make_pki

PASSPHRASE = "keystore passphrase 77"


def _package(tmp_path: Path, software: str) -> tuple[zipfile.ZipFile, Path, str]:
    pki = make_pki(["shop.example.test"])
    files = pki.write(tmp_path / "pki")
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    res = run_cli(
        [
            "import", "--home", str(home), str(files["fullchainA.pem"]),
            "--key", str(files["leafA.key"]), "--name", "shop",
        ]
    )  # fmt: skip
    assert res.code == 0, res.err
    dep = run_cli(
        [
            "deployment", "new", "shop", "--home", str(home), "--server", "app1",
            "--software", software, "--delivery", "conventional", "--json",
        ]
    ).json()["id"]  # fmt: skip
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\n")
    out = tmp_path / f"{software}.zip"
    res = run_cli(
        [
            "deployment", "prepare", str(dep), "--home", str(home),
            "--passphrase-file", str(pw), "--out", str(out),
        ]
    )  # fmt: skip
    assert res.code == 0, res.err
    return zipfile.ZipFile(out), tmp_path, sha256_fingerprint(pki.leaf_a)


def _sha256_of_pem(pem: str) -> str:
    from cryptography import x509

    return sha256_fingerprint(x509.load_pem_x509_certificates(pem.encode())[0])


def test_tomcat_package_keystores_open_with_keytool_and_openssl(tmp_path: Path) -> None:
    z, root, sha = _package(tmp_path, "tomcat")
    names = sorted(z.namelist())
    stem = names[0].split("/")[0]
    assert f"{stem}/{stem}.jks" in names and f"{stem}/{stem}.p12" in names
    z.extractall(root / "x")
    folder = root / "x" / stem
    keytool = require_tool("keytool")
    for store, kind in ((f"{stem}.jks", "JKS"), (f"{stem}.p12", "PKCS12")):
        r = subprocess.run(
            [keytool, "-list", "-rfc", "-keystore", str(folder / store), "-storetype", kind,
             "-storepass", PASSPHRASE],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert r.returncode == 0, r.stdout + r.stderr
        assert "PrivateKeyEntry" in r.stdout
        assert "Certificate chain length: 2" in r.stdout  # leaf and intermediate
        first = re.search(
            r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.stdout, re.S
        )
        assert first and _sha256_of_pem(first.group(0)) == sha
    # the README names the alias and the files that are there
    readme = (folder / "README.txt").read_text()
    assert f"{stem}.jks" in readme and '"tomcat"' in readme


def test_iis_pfx_opens_with_openssl(tmp_path: Path) -> None:
    """IIS gets the legacy (3DES) PFX older Windows imports; OpenSSL 3 reads it with -legacy."""
    z, root, sha = _package(tmp_path, "iis")
    stem = z.namelist()[0].split("/")[0]
    assert f"{stem}/{stem}.pfx" in z.namelist()
    z.extractall(root / "x")
    pfx = root / "x" / stem / f"{stem}.pfx"
    openssl = require_tool("openssl")
    r = subprocess.run(
        [openssl, "pkcs12", "-in", str(pfx), "-nokeys", "-clcerts", "-passin", f"pass:{PASSPHRASE}",
         "-legacy"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert _sha256_of_pem(r.stdout) == sha
    key = subprocess.run(
        [openssl, "pkcs12", "-in", str(pfx), "-nocerts", "-nodes", "-passin", f"pass:{PASSPHRASE}",
         "-legacy"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert key.returncode == 0 and "PRIVATE KEY" in key.stdout, key.stderr
