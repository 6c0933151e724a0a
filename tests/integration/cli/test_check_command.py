"""``certmgr check`` (issue 15, items 7-9): trust anchors, fingerprint-only, ``check --done`` on a draft.

A real nginx on loopback serves a leaf issued straight by a private root, and a leaf whose
intermediate it leaves out.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.factories.homes import home_with_definition, run_cli
from tests.factories.pki import make_ca, make_leaf, make_pki, write_pem
from tests.factories.servers import NginxServer


def _sha256(path: Path) -> str:
    return x509.load_pem_x509_certificate(path.read_bytes()).fingerprint(hashes.SHA256()).hex()


def test_ca_file_makes_a_private_root_chain_complete(tmp_path: Path) -> None:
    root_key, root = make_ca("Example Private Root")
    leaf_key, leaf = make_leaf(root_key, root, "app.internal", ["localhost", "127.0.0.1"])
    cert = write_pem(tmp_path / "leaf.pem", leaf)
    key = write_pem(tmp_path / "leaf.key", leaf_key)
    anchor = write_pem(tmp_path / "root.pem", root)
    fp = _sha256(cert)
    with NginxServer(tmp_path / "ngx", cert=cert, key=key) as ngx:
        target = f"127.0.0.1:{ngx.port}"
        alone = run_cli(["check", target, "--sni", "localhost", "--expect", fp, "--json"])
        assert alone.code == 1, alone.out  # without the anchor the leaf's issuer is unknown
        assert alone.json()["chain_complete"] is False
        anchored = run_cli(
            ["check", target, "--sni", "localhost", "--expect", fp, "--ca-file", str(anchor)]
        )
        assert anchored.code == 0, anchored.out + anchored.err
        assert "chain complete   yes" in anchored.out
        assert "Example Private Root" not in anchored.out  # the root is never expected served


def test_fingerprint_only_turns_chain_findings_into_warnings(tmp_path: Path) -> None:
    files = make_pki(["localhost", "127.0.0.1"]).write(tmp_path / "pki")
    fp = _sha256(files["leafA.pem"])
    with NginxServer(tmp_path / "ngx", cert=files["leafA.pem"], key=files["leafA.key"]) as ngx:
        target = f"127.0.0.1:{ngx.port}"
        strict = run_cli(["check", target, "--sni", "localhost", "--expect", fp])
        assert strict.code == 1 and "Test Intermediate" in strict.out
        relaxed = run_cli(
            ["check", target, "--sni", "localhost", "--expect", fp, "--fingerprint-only"]
        )
        assert relaxed.code == 0, relaxed.out
        assert "warning:" in relaxed.out and "Test Intermediate" in relaxed.out
        other = _sha256(files["leafB.pem"])
        wrong = run_cli(
            ["check", target, "--sni", "localhost", "--expect", other, "--fingerprint-only"]
        )
        assert wrong.code == 1  # the fingerprint is still the verdict


def test_ca_file_that_holds_no_certificate_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    res = run_cli(["check", "127.0.0.1:1", "--ca-file", str(junk)])
    assert res.code == 2 and "no PEM certificate" in res.err
    missing = run_cli(["check", "127.0.0.1:1", "--ca-file", str(tmp_path / "none.pem")])
    assert missing.code == 2 and "no such CA file" in missing.err


def test_check_done_on_a_draft_confirms_it(tmp_path: Path, database_url: str) -> None:
    files = make_pki(["localhost", "127.0.0.1"]).write(tmp_path / "pki")
    home = home_with_definition(tmp_path, database_url, files)
    with NginxServer(tmp_path / "ngx", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx:
        made = run_cli(
            ["deployment", "new", "web", "--home", str(home), "--server", "localhost",
             "--check", f"127.0.0.1:{ngx.port}", "--sni", "localhost", "--json"]
        )  # fmt: skip
        assert made.code == 0, made.err
        dep = str(made.json()["id"])
        res = run_cli(["deployment", "check", dep, "--done", "--home", str(home)])
        assert res.code == 0, res.out + res.err
        shown = run_cli(["deployment", "show", dep, "--home", str(home), "--json"]).json()
        assert shown["status"] == "confirmed"
