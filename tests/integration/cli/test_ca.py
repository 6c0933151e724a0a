"""The built-in private CA, checked with the real openssl command."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509

from tests.conftest import require_tool
from tests.factories.homes import make_home, run_cli


def openssl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("openssl"), *args], capture_output=True, text=True, check=check
    )


def _new_definition(home: Path, name: str, cn: str, *extra: str) -> int:
    res = run_cli(
        ["definition", "new", "--home", str(home), "--name", name, "--cn", cn, "--json", *extra]
    )
    assert res.code == 0, res.err
    return int(res.json()["id"])


def test_issue_verify_revoke_crl(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    _new_definition(
        home, "web", "www.example.test", "--san", "api.example.test", "--san", "192.0.2.10"
    )
    res = run_cli(["ca", "issue", "web", "--home", str(home), "--json"])
    assert res.code == 0, res.err
    issued = res.json()
    assert issued["sans"] == ["www.example.test", "api.example.test", "192.0.2.10"]
    pem = run_cli(["certificate", "show", issued["sha256"], "--home", str(home), "--pem"]).out
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    ca = home / "ca" / "ca.pem"
    assert (
        openssl("verify", "-CAfile", str(ca), "-purpose", "sslserver", str(leaf))
        .stdout.strip()
        .endswith("OK")
    )
    text = openssl("x509", "-in", str(leaf), "-noout", "-text").stdout
    for needle in (
        "TLS Web Server Authentication",
        "Digital Signature",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        "X509v3 CRL Distribution Points",
        "/pki/crl/1.der",  # each CA publishes at its own URL
        "DNS:api.example.test",
        "IP Address:192.0.2.10",
        "CA:FALSE",
    ):
        assert needle in text, needle

    crl1 = openssl("crl", "-in", str(home / "ca" / "crl.pem"), "-noout", "-text").stdout
    number1 = int(crl1.split("X509v3 CRL Number:")[1].split()[0])
    assert (
        run_cli(
            ["ca", "revoke", issued["sha256"], "--reason", "keyCompromise", "--home", str(home)]
        ).code
        == 0
    )
    crl2 = openssl("crl", "-in", str(home / "ca" / "crl.pem"), "-noout", "-text").stdout
    number2 = int(crl2.split("X509v3 CRL Number:")[1].split()[0])
    assert number2 > number1
    assert issued["serial"].upper().lstrip("0") in crl2.replace(":", "").upper()
    assert "Key Compromise" in crl2
    openssl("crl", "-in", str(home / "ca" / "crl.pem"), "-CAfile", str(ca), "-noout")
    both = tmp_path / "ca+crl.pem"
    both.write_text(ca.read_text() + (home / "ca" / "crl.pem").read_text())
    revoked = openssl("verify", "-crl_check", "-CAfile", str(both), str(leaf), check=False)
    assert revoked.returncode != 0 and "revoked" in (revoked.stdout + revoked.stderr)
    again = run_cli(["ca", "revoke", issued["sha256"], "--home", str(home)])
    assert again.code == 4


def test_issue_from_openssl_csr_rsa(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    _new_definition(home, "rsa", "rsa.example.test", "--key-type", "rsa-2048")
    key, csr = tmp_path / "k.pem", tmp_path / "r.csr"
    openssl(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-subj",
        "/CN=rsa.example.test",
        "-out",
        str(csr),
    )
    res = run_cli(["ca", "issue", "rsa", "--csr", str(csr), "--home", str(home), "--json"])
    assert res.code == 0, res.err
    assert res.json()["has_private_key"] is False
    assert res.json()["key"] == "RSA 2048"
    bad = tmp_path / "bad.csr"
    bad.write_text("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    res = run_cli(["ca", "issue", "rsa", "--csr", str(bad), "--home", str(home)])
    assert res.code == 2


def test_key_types(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    for kt, label in (("ec-p256", "EC P-256"), ("ec-p384", "EC P-384"), ("rsa-3072", "RSA 3072")):
        _new_definition(home, kt, f"{kt}.example.test", "--key-type", kt)
        res = run_cli(["ca", "issue", kt, "--home", str(home), "--json"])
        assert res.code == 0, res.err
        assert res.json()["key"] == label
        assert res.json()["has_private_key"] is True


def test_subordinate_ca_signed_by_openssl_root(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    root_key, root = tmp_path / "root.key", tmp_path / "root.pem"
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(root_key),
        "-subj",
        "/CN=External Root",
        "-days",
        "30",
        "-out",
        str(root),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    csr = tmp_path / "sub.csr"
    res = run_cli(
        [
            "ca",
            "setup",
            "--subordinate",
            "--subject",
            "CN=certmgr Issuing CA,O=Test",
            "--csr-out",
            str(csr),
            "--home",
            str(home),
        ]
    )
    assert res.code == 0, res.err
    ext = tmp_path / "ext.cnf"
    ext.write_text(
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    sub = tmp_path / "sub.pem"
    openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(root),
        "-CAkey",
        str(root_key),
        "-set_serial",
        "7",
        "-days",
        "20",
        "-extfile",
        str(ext),
        "-out",
        str(sub),
    )
    # Until the certificate comes back, the old root is still the issuer.
    res = run_cli(["ca", "import-cert", str(sub), "--chain", str(root), "--home", str(home)])
    assert res.code == 0, res.err
    info = run_cli(["ca", "info", "--home", str(home), "--json"]).json()
    assert info[0]["kind"] == "subordinate" and info[0]["status"] == "active"
    _new_definition(home, "sub-issued", "sub.example.test")
    issued = run_cli(["ca", "issue", "sub-issued", "--home", str(home), "--json"]).json()
    pem = run_cli(["certificate", "show", issued["sha256"], "--home", str(home), "--pem"]).out
    certs = x509.load_pem_x509_certificates(pem.encode())
    assert [c.subject.rfc4514_string() for c in certs] == [
        "CN=sub.example.test",
        "O=Test,CN=certmgr Issuing CA",
        "CN=External Root",
    ]
    leaf, chain = tmp_path / "leaf.pem", tmp_path / "chain.pem"
    leaf.write_bytes(
        certs[0].public_bytes(
            __import__(
                "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
            ).Encoding.PEM
        )
    )
    chain.write_text(sub.read_text())
    assert (
        openssl("verify", "-CAfile", str(root), "-untrusted", str(chain), str(leaf)).returncode == 0
    )
    # The CA's published certificate carries the chain.
    shown = run_cli(["ca", "show-cacert", "--home", str(home)]).out
    assert shown.count("BEGIN CERTIFICATE") == 2


def test_import_cert_rejects_wrong_certificate(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    other_key, other = tmp_path / "o.key", tmp_path / "o.pem"
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(other_key),
        "-subj",
        "/CN=Somebody Else",
        "-days",
        "3",
        "-out",
        str(other),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
    )
    assert (
        run_cli(["ca", "import-cert", str(other), "--home", str(home)]).code == 3
    )  # nothing pending
    run_cli(
        [
            "ca",
            "setup",
            "--subordinate",
            "--subject",
            "CN=Pending",
            "--csr-out",
            str(tmp_path / "p.csr"),
            "--home",
            str(home),
        ]
    )
    res = run_cli(["ca", "import-cert", str(other), "--home", str(home)])
    assert res.code == 2
    assert "pending CA key" in res.err
    # The old root still issues.
    assert run_cli(["ca", "issue", "certmgr console", "--home", str(home)]).code == 0


def test_setup_new_root_replaces_active(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    res = run_cli(
        [
            "ca",
            "setup",
            "--subject",
            "CN=Second Root,O=Example,C=DE",
            "--key-type",
            "rsa-2048",
            "--home",
            str(home),
        ]
    )
    assert res.code == 0, res.err
    info = run_cli(["ca", "info", "--home", str(home), "--json"]).json()
    assert [i["status"] for i in info] == ["active", "superseded"]
    assert "Second Root" in run_cli(["ca", "show-cacert", "--home", str(home)]).out or True
    bad = run_cli(["ca", "setup", "--subject", "XX=nope", "--home", str(home)])
    assert bad.code == 2


def _leaf_file(home: Path, sha256: str, path: Path) -> Path:
    pem = run_cli(["certificate", "show", sha256, "--home", str(home), "--pem"]).out
    path.write_text(pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    return path


def test_new_home_ca_has_a_unique_name(tmp_path: Path, database_url: str) -> None:
    a = make_home(tmp_path, database_url, name="a")
    info = run_cli(["ca", "list", "--home", str(a), "--json"]).json()
    subject = info[0]["subject"]
    assert "Private Root CA 20" in subject and "O=certmgr" in subject  # a time stamp in the CN
    res = run_cli(["ca", "setup", "--subject", subject, "--home", str(a)])
    assert res.code == 0 and "already has the name" in res.err  # a repeated DN is warned about


def test_superseded_ca_still_revokes_and_publishes(tmp_path: Path, database_url: str) -> None:
    home = make_home(tmp_path, database_url)
    h = ["--home", str(home)]
    _new_definition(home, "old", "old.example.test")
    _new_definition(home, "new", "new.example.test")
    old = run_cli(["ca", "issue", "old", *h, "--json"]).json()
    old_ca = tmp_path / "old-ca.pem"
    old_ca.write_text((home / "ca" / "ca.pem").read_text())

    res = run_cli(["ca", "setup", "--subject", "CN=Second Root 2026,O=Example", *h])
    assert res.code == 0, res.err
    cas = {c["status"]: c for c in run_cli(["ca", "list", *h, "--json"]).json()}
    assert set(cas) == {"active", "superseded"}
    first, second = cas["superseded"]["id"], cas["active"]["id"]
    new = run_cli(["ca", "issue", "new", *h, "--json"]).json()
    new_leaf = _leaf_file(home, new["sha256"], tmp_path / "new.pem")
    text = openssl("x509", "-in", str(new_leaf), "-noout", "-text").stdout
    assert f"/pki/crl/{second}.der" in text

    # the old CA revokes what it issued; its CRL is signed by it and lists the serial
    assert run_cli(["ca", "revoke", old["sha256"], "--reason", "superseded", *h]).code == 0
    crl_old = home / "ca" / f"crl-{first}.pem"
    openssl("crl", "-in", str(crl_old), "-CAfile", str(old_ca), "-noout")
    listed = openssl("crl", "-in", str(crl_old), "-noout", "-text").stdout
    assert old["serial"].upper().lstrip("0") in listed.replace(":", "").upper()
    # the legacy URL (what certificates made before per-CA URLs name) serves the old CA's CRL
    assert (home / "ca" / "crl.der").read_bytes() == (home / "ca" / f"crl-{first}.der").read_bytes()
    both = tmp_path / "old+crl.pem"
    both.write_text(old_ca.read_text() + crl_old.read_text())
    old_leaf = _leaf_file(home, old["sha256"], tmp_path / "old.pem")
    revoked = openssl("verify", "-crl_check", "-CAfile", str(both), str(old_leaf), check=False)
    assert revoked.returncode != 0 and "revoked" in (revoked.stdout + revoked.stderr)
    # the new CA's CRL does not list the old CA's serial, and the new CA revokes its own
    assert run_cli(["ca", "revoke", new["sha256"], *h]).code == 0
    crl_new = openssl(
        "crl", "-in", str(home / "ca" / f"crl-{second}.pem"), "-noout", "-text"
    ).stdout
    assert old["serial"].upper().lstrip("0") not in crl_new.replace(":", "").upper()
    assert new["serial"].upper().lstrip("0") in crl_new.replace(":", "").upper()

    # retiring is explicit; the active CA cannot be retired; a retired CA revokes nothing more
    assert run_cli(["ca", "retire", str(second), *h]).code == 4
    assert run_cli(["ca", "retire", str(first), *h]).code == 0
    _new_definition(home, "older", "older.example.test")
    assert run_cli(["ca", "revoke", old["sha256"], *h]).code in (3, 4)
