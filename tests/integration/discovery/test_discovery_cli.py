"""``certmgr discovery scan|list|show|import|report|settings`` and ``certmgr import --from-server``
end to end on a real home (SQLite and PostgreSQL) against nginx and a STARTTLS SMTP server on
loopback.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.discovery import leaf_a_nginx
from tests.factories.homes import make_home, run_cli
from tests.factories.mailservers import DovecotServer
from tests.factories.pki import TestPki, make_pki
from tests.factories.servers import NginxServer


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def nginx(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    with leaf_a_nginx(pki, tmp_path_factory.mktemp("nginx"), "127.0.0.4") as server:
        yield server


def cli(home: Path, *args: str) -> tuple[int, str, str]:
    res = run_cli([*args, "--home", str(home)])
    return res.code, res.out, res.err


def test_scan_show_import_report(
    database_url: str, tmp_path: Path, nginx: NginxServer, pki: TestPki
) -> None:

    home = make_home(tmp_path, database_url)
    code, _, err = cli(home, "discovery", "scan", "127.0.0.4", "--ports", str(nginx.port))
    assert (
        code == 2 and "no scan scope is set" in err
    )  # nothing is scanned before an admin says where
    code, out, err = cli(
        home, "discovery", "settings", "--scope", "127.0.0.0/29", "--size-limit", "8", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["scope"] == ["127.0.0.0/29"]
    code, out, err = cli(home, "discovery", "scan", "127.0.0.0/29", "--ports", f"{nginx.port},1")
    assert code == 2 and "confirm the large scan" in err and "16 address:port pairs" in err
    code, out, err = cli(
        home, "discovery", "scan", "127.0.0.4", "--ports", str(nginx.port), "--json"
    )
    assert code == 0, err
    scan = json.loads(out)
    assert (scan["state"], scan["open_endpoints"], scan["unknown"]) == ("done", 1, 1)

    code, out, _ = cli(home, "discovery", "list", "--json")
    assert [s["id"] for s in json.loads(out)] == [scan["id"]]
    code, out, _ = cli(home, "discovery", "show", str(scan["id"]), "--json")
    (result,) = json.loads(out)["results"]
    assert result["common_name"] == "leaf-A" and result["match"] == "unknown"
    assert result["verdict"] == "critical" and "untrusted" in [
        v["rule"] for v in result["violations"]
    ]
    code, out, _ = cli(home, "discovery", "show", str(scan["id"]), "--verdict", "ok", "--json")
    assert json.loads(out)["results"] == []
    code, out, _ = cli(home, "discovery", "show", str(scan["id"]))
    assert "leaf-A" in out and "untrusted" in out

    code, out, err = cli(home, "discovery", "import", "--scan", str(scan["id"]), "--json")
    assert code == 0, err
    (done,) = json.loads(out)
    assert done["created_certificate"] and done["created_deployment"]
    code, out, _ = cli(home, "certificate", "list", "--json")
    leaf = next(c for c in json.loads(out) if c.get("sha256") == result["sha256"])
    assert leaf["source"] == "discovered"
    code, out, _ = cli(home, "deployment", "show", str(done["deployment_id"]), "--json")
    dep = json.loads(out)
    assert dep["status"] == "confirmed" and dep["check_port"] == nginx.port

    # importing again adds nothing; a new scan now sees it managed
    code, out, _ = cli(home, "discovery", "import", str(result["id"]), "--json")
    assert json.loads(out)[0]["created_deployment"] is False
    code, out, _ = cli(home, "discovery", "scan", "127.0.0.4", "--ports", str(nginx.port), "--json")
    second = json.loads(out)
    code, out, _ = cli(home, "discovery", "show", str(second["id"]), "--match", "managed", "--json")
    managed = json.loads(out)["results"]  # bare, and with the deployment's SNI (leaf-a)
    assert sorted(r["sni"] for r in managed) == ["", "leaf-a"]

    code, out, _ = cli(home, "discovery", "report", str(scan["id"]), "--json")
    report = json.loads(out)
    assert report["by_verdict"] == {"critical": 1} and report["by_rule"]["untrusted"] == 1
    code, out, _ = cli(home, "discovery", "report", str(scan["id"]), "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["sha256"] == result["sha256"] and "untrusted" in rows[0]["rules"]
    code, out, _ = cli(home, "discovery", "report", str(scan["id"]))
    assert "by rule broken: " in out and "untrusted 1" in out


def test_import_from_server(database_url: str, tmp_path: Path, nginx: NginxServer) -> None:

    home = make_home(tmp_path, database_url)
    code, out, err = cli(
        home, "import", "--from-server", f"127.0.0.4:{nginx.port}", "--sni", "localhost", "--json"
    )
    assert code == 0, err
    (done,) = json.loads(out)
    assert done["created_certificate"] and done["where"] == f"127.0.0.4:{nginx.port}"
    code, out, _ = cli(home, "deployment", "show", str(done["deployment_id"]), "--json")
    dep = json.loads(out)
    assert (dep["sni"], dep["status"]) == ("localhost", "confirmed")
    code, _, err = cli(home, "import", "--from-server", "127.0.0.4:1")
    assert code != 0 and "127.0.0.4" in err  # refused: a clear message, nothing stored
    code, _, err = cli(home, "import", "--from-server", "127.0.0.4:99999")
    assert code == 2 and "port" in err


@pytest.fixture(scope="module")
def dovecot(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    files = pki.write(tmp_path_factory.mktemp("pki-dovecot"))
    with DovecotServer(
        tmp_path_factory.mktemp("dovecot"), cert=files["fullchainA.pem"], key=files["leafA.key"]
    ) as server:
        yield server


def test_starttls_scan_import_and_monitoring(tmp_path: Path, dovecot: DovecotServer) -> None:
    """IMAP with STARTTLS on a port of its own: scanned, imported from the server, then watched
    by monitoring through the same STARTTLS dialogue (Dovecot, on SQLite).
    """
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    port = dovecot.imap_port
    assert cli(home, "discovery", "settings", "--scope", "127.0.0.1/32")[0] == 0
    code, out, err = cli(
        home, "discovery", "scan", "127.0.0.1", "--ports", str(port),
        "--starttls", f"{port}=imap", "--json",
    )  # fmt: skip
    assert code == 0, err
    scan = json.loads(out)
    assert scan["open_endpoints"] == 1
    code, out, _ = cli(home, "discovery", "show", str(scan["id"]), "--json")
    (found,) = json.loads(out)["results"]
    assert (found["starttls"], found["outcome"], found["common_name"]) == ("imap", "tls", "leaf-A")
    code, _, err = cli(home, "discovery", "scan", "127.0.0.1", "--starttls", "143=gopher")
    assert code == 2 and "gopher" in err

    code, out, err = cli(
        home, "import", "--from-server", f"127.0.0.1:{port}", "--starttls", "imap", "--json"
    )
    assert code == 0, err
    (done,) = json.loads(out)
    code, out, _ = cli(home, "deployment", "show", str(done["deployment_id"]), "--json")
    assert json.loads(out)["starttls"] == "imap"
    code, out, err = cli(home, "monitor", "run", "--deployment", str(done["deployment_id"]))
    assert code == 0, out + err  # monitoring speaks IMAP STARTTLS and finds the certificate served
