"""Writers, each checked by reading the output back with openssl (and load())."""

from __future__ import annotations

from pathlib import Path

import pytest

from certmgr.shared.errors import KeyMismatchError, ValidationError
from certmgr.shared.pki import (
    LoadedBundle,
    encrypted_pkcs8_pem,
    load,
    pem_bundle,
    pkcs12_bytes,
    public_key_der,
    sha256_fingerprint,
)
from tests.factories.openssl_files import P12_PASS, PkiFiles, run


@pytest.fixture(scope="module")
def ec_bundle(pki_files: PkiFiles) -> LoadedBundle:
    return load(pki_files.read("leaf-ec.p12"), password=P12_PASS.encode())


def test_pem_bundle_verifies_with_openssl(ec_bundle: LoadedBundle, tmp_path: Path) -> None:
    leaf, intermediate, root = ec_bundle.entries[0].chain
    (tmp_path / "leaf.pem").write_bytes(pem_bundle([leaf]))
    (tmp_path / "chain.pem").write_bytes(pem_bundle([intermediate]))
    (tmp_path / "root.pem").write_bytes(pem_bundle([root]))
    out = run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "leaf.pem"],
        tmp_path,
    )
    assert out.strip().endswith(b"OK")
    assert load(pem_bundle([leaf, intermediate])).certificates == (leaf, intermediate)


def test_encrypted_pkcs8(pki_files: PkiFiles, ec_bundle: LoadedBundle, tmp_path: Path) -> None:
    data = encrypted_pkcs8_pem(ec_bundle.keys[0], b"s3cret")
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    (tmp_path / "k.pem").write_bytes(data)
    pub = run(
        ["openssl", "pkey", "-in", "k.pem", "-passin", "pass:s3cret", "-pubout", "-outform", "DER"],
        tmp_path,
    )
    assert pub == pki_files.public_keys["leaf-ec"]
    assert public_key_der(load(data, password=b"s3cret").keys[0]) == pub
    with pytest.raises(ValidationError):
        encrypted_pkcs8_pem(ec_bundle.keys[0], b"")


@pytest.mark.parametrize(
    ("legacy", "cipher", "mac"),
    [
        (False, "AES-256-CBC", "MAC: sha256"),
        (True, "pbeWithSHA1And3-KeyTripleDES-CBC", "MAC: sha1"),
    ],
)
def test_pkcs12(
    pki_files: PkiFiles,
    ec_bundle: LoadedBundle,
    tmp_path: Path,
    legacy: bool,
    cipher: str,
    mac: str,
) -> None:
    leaf, *chain = ec_bundle.entries[0].chain
    data = pkcs12_bytes(ec_bundle.keys[0], leaf, chain, b"pfx-pass", "Web Server", legacy=legacy)
    (tmp_path / "out.p12").write_bytes(data)
    info = run(
        ["openssl", "pkcs12", "-in", "out.p12", "-info", "-noout", "-passin", "pass:pfx-pass"],
        tmp_path,
        with_stderr=True,
    )
    text = info.decode()
    assert cipher in text and mac in text
    pub = run(
        ["openssl", "pkcs12", "-in", "out.p12", "-nocerts", "-nodes", "-passin", "pass:pfx-pass"],
        tmp_path,
    )
    assert public_key_der(load(pub).keys[0]) == pki_files.public_keys["leaf-ec"]
    back = load(data, password=b"pfx-pass")
    assert back.entries[0].alias == "Web Server"
    assert [sha256_fingerprint(c) for c in back.entries[0].chain] == [
        pki_files.fingerprints[n] for n in ("leaf-ec", "int", "root")
    ]


def test_pkcs12_without_key_and_refusals(ec_bundle: LoadedBundle, pki_files: PkiFiles) -> None:
    leaf, *chain = ec_bundle.entries[0].chain
    certs_only = load(pkcs12_bytes(None, leaf, chain, b"pw", "ca"), password=b"pw")
    assert certs_only.keys == ()
    assert len(certs_only.certificates) == 3
    with pytest.raises(ValidationError):
        pkcs12_bytes(ec_bundle.keys[0], leaf, chain, b"", "x")
    rsa_key = load(pki_files.read("leaf-rsa.key")).keys[0]
    with pytest.raises(KeyMismatchError, match="leaf-ec.example.test"):
        pkcs12_bytes(rsa_key, leaf, chain, b"pw", "x")
