"""``certmgr check HOST --sni NAME`` without ``--expect``: the name is the only identity check.

A real nginx on loopback serves one certificate (for localhost) whatever name is asked, as a
server does with its default certificate for an unknown SNI. Before, the check said ``ok`` (exit
0) with only a warning, since the served certificate 'matched' itself.
"""

from __future__ import annotations

from pathlib import Path

from tests.factories.homes import run_cli
from tests.factories.pki import make_pki
from tests.factories.servers import NginxServer


def test_default_certificate_for_another_name_fails_without_expect(tmp_path: Path) -> None:
    files = make_pki(["localhost", "127.0.0.1"]).write(tmp_path / "pki")
    with NginxServer(tmp_path / "ngx", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx:
        target = f"127.0.0.1:{ngx.port}"
        wrong = run_cli(["check", target, "--sni", "www.example.org", "--json"])
        assert wrong.code == 1, wrong.out
        data = wrong.json()
        assert data["ok"] is False and data["hostname_matches"] is False
        assert data["problems"] == [
            "the served certificate does not cover the name www.example.org"
        ]
        assert data["matches_current"] is None  # nothing was compared: no verdict
        right = run_cli(["check", target, "--sni", "localhost"])
        assert right.code == 0, right.out + right.err
        assert "matches          - (no --expect)" in right.out
        served = run_cli(["check", target, "--sni", "localhost", "--json"]).json()["served_sha256"]
        expected = run_cli(["check", target, "--sni", "localhost", "--expect", served, "--json"])
        assert expected.json()["matches_current"] is True
        # --fingerprint-only keeps the name a warning
        relaxed = run_cli(["check", target, "--sni", "www.example.org", "--fingerprint-only"])
        assert relaxed.code == 0, relaxed.out
        assert "warning: the served certificate does not cover the name www.example.org" in (
            relaxed.out
        )
