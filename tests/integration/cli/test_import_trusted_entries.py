"""certmgr import of files that hold more or less than their role says: keystores' trusted entries,
key-only and empty keystores, full chains.

A CA certificate held as a keystore's trusted entry (keytool -importcert, openssl pkcs12 -nokeys) is
a CA, as it is in a PEM file: it gets no definition, is never made current, and completes the
chains of the other certificates in the file. A ``--chain`` file that also holds the leaf (certbot's
fullchain.pem, a .p7b) imports the leaf once. A keystore's key without its certificate pairs with
a certificate given beside it or is refused (never dropped silently); an empty keystore is refused.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.factories.homes import make_home, run_cli

PASS = "trust-pass"


def _run(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("trusted")
    o, kt = require_tool("openssl"), require_tool("keytool")
    (d / "pw").write_text(PASS + "\n")
    (d / "ca.ext").write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n")
    (d / "leaf.ext").write_text("subjectAltName=DNS:trusted.test\nbasicConstraints=CA:FALSE\n")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _run(o, "req", "-x509", *ec, "-keyout", d / "root.key", "-out", d / "root.pem",
         "-subj", "/CN=Trusted Root", "-days", "30",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")  # fmt: skip
    for name, issuer, ext in (("int", "root", "ca.ext"), ("leaf", "int", "leaf.ext")):
        _run(o, "req", "-new", *ec, "-keyout", d / f"{name}.key", "-out", d / f"{name}.csr",
             "-subj", f"/CN=Trusted {name}")  # fmt: skip
        _run(o, "x509", "-req", "-in", d / f"{name}.csr", "-CA", d / f"{issuer}.pem",
             "-CAkey", d / f"{issuer}.key", "-days", "20", "-extfile", d / ext,
             "-out", d / f"{name}.pem")  # fmt: skip
    (d / "chain.pem").write_bytes((d / "int.pem").read_bytes() + (d / "root.pem").read_bytes())
    (d / "fullchain.pem").write_bytes(
        (d / "leaf.pem").read_bytes() + (d / "chain.pem").read_bytes()
    )
    _run(o, "crl2pkcs7", "-nocrl", "-certfile", d / "fullchain.pem", "-outform", "DER",
         "-out", d / "fullchain.p7b")  # fmt: skip
    _run(o, "x509", "-in", d / "leaf.pem", "-outform", "DER", "-out", d / "leaf.cer")
    # A certificates-only PKCS#12 (what Windows exports without the key): leaf, intermediate, root.
    _run(o, "pkcs12", "-export", "-nokeys", "-in", d / "leaf.pem", "-certfile", d / "chain.pem",
         "-passout", f"pass:{PASS}", "-out", d / "certs-only.p12")  # fmt: skip
    # Key, leaf and chain with a friendly name on every certificate (as Windows exports them).
    _run(o, "pkcs12", "-export", "-in", d / "leaf.pem", "-inkey", d / "leaf.key",
         "-certfile", d / "chain.pem", "-name", "Leaf", "-caname", "Intermediate CA",
         "-caname", "Root CA", "-passout", f"pass:{PASS}", "-out", d / "canames.p12")  # fmt: skip
    # A PKCS#12 with the key only (openssl pkcs12 -export -nocerts).
    _run(o, "pkcs12", "-export", "-nocerts", "-inkey", d / "leaf.key",
         "-passout", f"pass:{PASS}", "-out", d / "key-only.p12")  # fmt: skip
    # An empty keytool keystore (its only entry deleted).
    store = ("-keystore", d / "empty.p12", "-storetype", "PKCS12", "-storepass", PASS)
    _run(kt, "-importcert", "-noprompt", "-alias", "x", "-file", d / "root.pem", *store)
    _run(kt, "-delete", "-alias", "x", *store)
    # A Java truststore: the root and the intermediate as trusted-certificate entries.
    for alias in ("root", "int"):
        _run(kt, "-importcert", "-noprompt", "-alias", alias, "-file", d / f"{alias}.pem",
             "-keystore", d / "trust.jks", "-storetype", "JKS", "-storepass", PASS)  # fmt: skip
    return d


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh home on SQLite."""
    return make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")


def _import(home: Path, *args: str | Path) -> list[dict[str, object]]:
    res = run_cli(["import", "--home", str(home), "--json", *(str(a) for a in args)])
    assert res.code == 0, res.err
    out = res.json()
    assert isinstance(out, list)
    return out


def _definition_names(home: Path) -> set[str]:
    res = run_cli(["definition", "list", "--home", str(home), "--json"])
    assert res.code == 0, res.err
    return {d["name"] for d in res.json()}


def test_certificates_only_pkcs12_imports_the_leaf_with_its_chain(home: Path, files: Path) -> None:
    before = _definition_names(home)
    out = _import(home, files / "certs-only.p12", "--password-file", files / "pw")
    by_subject = {r["subject"]: r for r in out}
    leaf = by_subject["CN=Trusted leaf"]
    assert leaf["is_ca"] is False and leaf["made_current"] is True
    assert leaf["chain_length"] == 2 and leaf["chain_complete"] is True
    assert leaf["warnings"] == []
    for ca in ("CN=Trusted int", "CN=Trusted Root"):
        assert by_subject[ca]["is_ca"] is True
        assert by_subject[ca]["definition_id"] is None
        assert by_subject[ca]["made_current"] is False
    assert _definition_names(home) - before == {"Trusted leaf"}


def test_pkcs12_with_friendly_names_on_its_ca_certificates(home: Path, files: Path) -> None:
    before = _definition_names(home)
    out = _import(home, files / "canames.p12", "--password-file", files / "pw")
    by_subject = {r["subject"]: r for r in out}
    leaf = by_subject.pop("CN=Trusted leaf")
    assert leaf["has_private_key"] is True and leaf["chain_length"] == 2
    assert sorted(str(s) for s in by_subject) == ["CN=Trusted Root", "CN=Trusted int"]
    assert all(r["is_ca"] is True and r["definition_id"] is None for r in by_subject.values())
    assert _definition_names(home) - before == {"Trusted leaf"}


def test_java_truststore_holds_ca_certificates_not_server_certificates(
    home: Path, files: Path
) -> None:
    before = _definition_names(home)
    out = _import(home, files / "trust.jks", "--password-file", files / "pw")
    assert {r["subject"] for r in out} == {"CN=Trusted Root", "CN=Trusted int"}
    assert all(r["is_ca"] is True and r["definition_id"] is None for r in out)
    assert not any(r["made_current"] for r in out)
    assert _definition_names(home) == before


@pytest.mark.parametrize(
    ("leaf", "chain", "key"),
    [("leaf.pem", "fullchain.pem", True), ("leaf.cer", "fullchain.p7b", False)],
)
def test_chain_file_that_also_holds_the_leaf(
    home: Path, files: Path, leaf: str, chain: str, key: bool
) -> None:
    extra: list[str | Path] = ["--key", files / "leaf.key"] if key else []
    out = _import(home, files / leaf, "--chain", files / chain, *extra)
    assert sorted(str(r["subject"]) for r in out) == [
        "CN=Trusted Root",
        "CN=Trusted int",
        "CN=Trusted leaf",
    ]
    first = next(r for r in out if r["subject"] == "CN=Trusted leaf")
    assert first["source_file"] == leaf and first["has_private_key"] is key
    assert first["chain_length"] == 2 and first["chain_complete"] is True
    assert first["made_current"] is True and first["created"] is True
    again = _import(home, files / leaf, "--chain", files / chain)
    assert [r["created"] for r in again] == [False, False, False]


def test_key_only_pkcs12_pairs_with_its_certificate(home: Path, files: Path) -> None:
    out = _import(home, files / "key-only.p12", files / "leaf.pem", "--password-file", files / "pw")
    assert [(r["subject"], r["has_private_key"]) for r in out] == [("CN=Trusted leaf", True)]


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("key-only.p12", "private key in key-only.p12 comes without its certificate"),
        ("empty.p12", "empty.p12 holds no certificate or private key"),
    ],
)
def test_key_only_or_empty_keystore_is_refused_and_changes_nothing(
    home: Path, files: Path, name: str, needle: str
) -> None:
    listing = ["certificate", "list", "--all", "--home", str(home), "--json"]
    before = run_cli(listing).json()
    res = run_cli(
        ["import", "--home", str(home), str(files / "root.pem"), str(files / name),
         "--password-file", str(files / "pw")]
    )  # fmt: skip
    assert res.code == 2, res.out + res.err
    assert needle in res.err and "Traceback" not in res.err
    assert run_cli(listing).json() == before


def test_a_chain_file_without_certificates_is_refused(home: Path, files: Path) -> None:
    listing = ["certificate", "list", "--all", "--home", str(home), "--json"]
    before = run_cli(listing).json()
    res = run_cli(
        ["import", "--home", str(home), str(files / "leaf.pem"), "--key", str(files / "leaf.key"),
         "--chain", str(files / "empty.p12"), "--password-file", str(files / "pw")]
    )  # fmt: skip
    assert res.code == 2, res.out + res.err
    assert "empty.p12 holds no certificate for the chain" in res.err
    assert run_cli(listing).json() == before


@pytest.mark.parametrize(
    ("saved_as", "encoded"),
    [
        pytest.param("Notepad", b"\xef\xbb\xbf" + f"{PASS}\r\n".encode(), id="utf8-bom"),
        pytest.param("PowerShell 5", f"{PASS}\r\n".encode("utf-16"), id="utf16le-bom"),
    ],
)
def test_a_password_file_saved_on_windows_opens_the_pkcs12(
    tmp_path: Path, home: Path, files: Path, saved_as: str, encoded: bytes
) -> None:
    password_file = tmp_path / "pw.txt"
    password_file.write_bytes(encoded)
    out = _import(home, files / "canames.p12", "--password-file", password_file)
    leaf = {r["subject"]: r for r in out}["CN=Trusted leaf"]
    assert leaf["has_private_key"] is True, saved_as
