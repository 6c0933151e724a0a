"""Finding 17: a leaf whose signature does not verify with the issuer supplied alongside it.

Certificates made by the real openssl; one byte of a signature is flipped. Such a certificate
is stored flagged "signature does not verify" (not "chain incomplete: issuer not found") and is
never made current unless unverified signatures are explicitly accepted.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.conftest import require_tool
from tests.factories.homes import make_home, run_cli

EXT = """
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:forged.example.test
"""


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(
        [require_tool("openssl"), *map(str, args)], cwd=cwd, check=True, capture_output=True
    )


def _sign(d: Path, name: str, subj: str, ca: str, ext: str) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=d)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", subj, "-out", f"{name}.csr", cwd=d)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "90", "-sha256", "-extfile", "ext.cnf", "-extensions", ext,
        "-out", f"{name}.pem", cwd=d,
    )  # fmt: skip


def _flip_signature_byte(src: Path, dst: Path) -> None:
    der = bytearray(x509.load_pem_x509_certificate(src.read_bytes()).public_bytes(Encoding.DER))
    der[-1] ^= 0x01  # the last byte of the signature value (s of the ECDSA pair)
    body = base64.encodebytes(bytes(der)).decode()
    dst.write_text(f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n")
    x509.load_pem_x509_certificate(dst.read_bytes())  # still a well-formed certificate


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("forged")
    (d / "ext.cnf").write_text(EXT)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root.key", cwd=d)
    _openssl(
        "req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=Forgery Test Root", "-days",
        "365", "-sha256", "-config", "ext.cnf", "-extensions", "ca", "-out", "root.pem", cwd=d,
    )  # fmt: skip
    _sign(d, "int", "/CN=Forgery Test Intermediate", "root", "ca")
    _sign(d, "leaf", "/CN=forged.example.test", "root", "leaf")
    _sign(d, "leaf2", "/CN=forged.example.test", "int", "leaf")
    _flip_signature_byte(d / "leaf.pem", d / "leaf-bad.pem")
    _flip_signature_byte(d / "int.pem", d / "int-bad.pem")
    return d


def _definition_current(database_url: str, definition_id: int) -> int | None:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.db.models import CertificateDefinition

    async def run() -> int | None:
        db = Database(database_url)
        try:
            async with db.reader() as s:
                d = await s.get(CertificateDefinition, definition_id)
                assert d is not None
                return d.current_certificate_id
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_import_refuses_forged_signature(tmp_path: Path, database_url: str, pki: Path) -> None:
    home = make_home(tmp_path, database_url)
    res = run_cli(
        [
            "import",
            "--home",
            str(home),
            "--json",
            str(pki / "leaf-bad.pem"),
            "--chain",
            str(pki / "root.pem"),
        ]
    )
    assert res.code == 0, res.err
    leaf = next(r for r in res.json() if r["definition_id"] is not None)
    assert leaf["signature_verified"] is False
    assert leaf["made_current"] is False
    assert any("signature does not verify" in w for w in leaf["warnings"]), leaf
    assert not any("chain incomplete" in w or "not found" in w for w in leaf["warnings"]), leaf
    assert _definition_current(database_url, leaf["definition_id"]) is None

    shown = run_cli(["certificate", "show", "--home", str(home), leaf["sha256"], "--json"])
    assert shown.code == 0, shown.err
    assert shown.json()["signature_problem"].startswith("signature does not verify")

    # Only an explicit acceptance makes it current.
    res = run_cli(
        [
            "import", "--home", str(home), str(pki / "leaf-bad.pem"), "--chain",
            str(pki / "root.pem"), "--accept-unverified",
        ]
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "(current)" in res.out and "signature does not verify" in res.out, res.out
    assert _definition_current(database_url, leaf["definition_id"]) == leaf["certificate_id"]


def test_import_flags_a_chain_with_a_forged_intermediate(tmp_path: Path, pki: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    res = run_cli(
        [
            "import", "--home", str(home), "--json", str(pki / "leaf2.pem"), "--chain",
            str(pki / "int-bad.pem"), "--chain", str(pki / "root.pem"),
        ]
    )  # fmt: skip
    assert res.code == 0, res.err
    results = res.json()
    leaf = next(r for r in results if r["definition_id"] is not None)
    assert leaf["signature_verified"] is False and leaf["made_current"] is False, leaf
    assert any("signature does not verify" in w for w in leaf["warnings"]), leaf
    bad_ca = next(r for r in results if r["subject"] == "CN=Forgery Test Intermediate")
    assert bad_ca["signature_verified"] is False, bad_ca

    # The genuine certificate of the same definition imports as before: verified and current.
    res = run_cli(
        [
            "import",
            "--home",
            str(home),
            "--json",
            str(pki / "leaf.pem"),
            "--chain",
            str(pki / "root.pem"),
        ]
    )
    assert res.code == 0, res.err
    good = next(r for r in res.json() if r["definition_id"] is not None)
    assert good["signature_verified"] is True and good["made_current"] is True, good
    assert good["chain_complete"] is True and good["warnings"] == [], good
