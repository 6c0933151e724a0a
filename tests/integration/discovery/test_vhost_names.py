"""Virtual hosts by name resolution, end to end: ``certmgr discovery scan`` of an address also
probes it as each name of the repository's definitions that resolves to it.

The names resolve through the system resolver (``getaddrinfo``: ``/etc/hosts``, then DNS). The
scanning process runs in a mount namespace of its own where a test hosts file is bind-mounted
over ``/etc/hosts``: the machine's file is never edited, and nothing outside that process sees
the names (the same scan run here, outside the namespace, does not find the virtual host).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.factories.homes import make_home, run_cli
from tests.factories.pki import TestPki, make_leaf, make_pki, write_pem
from tests.factories.servers import NginxServer

HOST = "127.0.0.61"
NAME = "shop.vhost.test"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def shop(
    pki: TestPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[NginxServer, Path]]:
    """nginx on HOST: leaf-A by default, the virtual host NAME with its own leaf; its PEM file."""
    d = tmp_path_factory.mktemp("vhost-nginx")
    files = pki.write(d / "pki")
    key, cert = make_leaf(pki.int_key, pki.intermediate, NAME, [NAME])
    chain = write_pem(d / "shop.pem", cert, pki.intermediate)
    sni = {NAME: (chain, write_pem(d / "shop.key", key))}
    with NginxServer(
        d, cert=files["fullchainA.pem"], key=files["leafA.key"], host=HOST, sni_certs=sni
    ) as server:
        yield server, write_pem(d / "shop-leaf.pem", cert)


def scan_in_namespace(home: Path, hosts: Path, port: int) -> dict[str, object]:
    """``certmgr discovery scan HOST`` in a child process that sees ``hosts`` as /etc/hosts."""
    if os.geteuid() != 0:
        pytest.fail("a mount namespace needs root (the CI runs as root)")
    argv = [require_tool("unshare"), "--mount", "--propagation", "private", "sh", "-c"]
    argv += ['mount --bind "$0" /etc/hosts && exec "$@"', str(hosts)]
    argv += [sys.executable, "-m", "certmgr.controller", "discovery", "scan", HOST]
    argv += ["--ports", str(port), "--json", "--home", str(home)]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    found: dict[str, object] = json.loads(res.stdout)
    return found


def results(home: Path, scan_id: object) -> dict[str, dict[str, object]]:
    res = run_cli(["discovery", "show", str(scan_id), "--json", "--home", str(home)])
    assert res.code == 0, res.err
    return {str(r["sni"]): r for r in res.json()["results"]}


def test_an_address_is_probed_as_the_names_that_resolve_to_it(
    database_url: str, tmp_path: Path, shop: tuple[NginxServer, Path]
) -> None:
    nginx, shop_pem = shop
    home = make_home(tmp_path, database_url)
    res = run_cli(["import", "--home", str(home), "--json", str(shop_pem)])
    assert res.code == 0, res.err  # a definition named shop.vhost.test, deployed nowhere
    res = run_cli(["discovery", "settings", "--scope", f"{HOST}/32", "--home", str(home)])
    assert res.code == 0, res.err
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{HOST} {NAME}\n")

    scan = scan_in_namespace(home, hosts, nginx.port)
    assert (scan["state"], scan["open_endpoints"], scan["certificates"]) == ("done", 2, 2)
    by_sni = results(home, scan["id"])
    assert set(by_sni) == {"", NAME}
    assert by_sni[""]["common_name"] == "leaf-A"
    vhost = by_sni[NAME]
    assert vhost["address"] == HOST and vhost["port"] == nginx.port
    assert vhost["common_name"] == NAME and vhost["match"] == "known-elsewhere"
    assert "name-mismatch" not in [v["rule"] for v in vhost["violations"]]  # type: ignore[attr-defined]

    # the control: outside the namespace the name does not resolve, so only the bare probe runs
    res = run_cli(
        ["discovery", "scan", HOST, "--ports", str(nginx.port), "--json", "--home", str(home)]
    )
    assert res.code == 0, res.err
    assert set(results(home, res.json()["id"])) == {""}
