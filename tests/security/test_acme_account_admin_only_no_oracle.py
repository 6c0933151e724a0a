"""Issue 12, finding 9: adding an ACME account is admin-only and its errors are no port oracle.

A `user` may not make the controller fetch a URL through the ACME directory field. For an
admin, a closed port, a TLS server that is not trusted, and a trusted HTTPS server (a real nginx)
that is not ACME all fail with the same message; a real ACME server (Pebble) still registers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.factories._serverbase import free_port
from tests.factories.acme_servers import PebbleServer
from tests.factories.console import console_client
from tests.factories.homes import amake_home, arun_cli, run_cli
from tests.factories.pki import make_pki
from tests.factories.servers import NginxServer

UNREACHABLE = "could not reach an ACME directory at that URL"


def _token(home: Path, user: str) -> dict[str, str]:
    res = run_cli(["token", "create", "--user", user, "--home", str(home)])
    assert res.code == 0, res.err
    return {"Authorization": f"Bearer {res.out.strip()}"}


async def test_acme_account_admin_only_no_oracle(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    pw = tmp_path / "user-pw"
    pw.write_text("a user's long password 42\n")
    assert (
        await arun_cli(["user", "add", "alice", "--password-file", str(pw), "--home", str(home)])
    ).code == 0
    closed = f"https://127.0.0.1:{free_port()}/dir"
    files = make_pki(["localhost", "127.0.0.1"]).write(tmp_path / "pki")
    ca_pem = files["root.pem"].read_text()
    with (
        NginxServer(tmp_path / "ngx", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx,
    ):
        await _refused_alike(home, closed, f"https://127.0.0.1:{ngx.port}", ca_pem)


async def _refused_alike(home: Path, closed: str, listening: str, ca_pem: str) -> None:
    user, admin = (
        (await asyncio.to_thread(_token, home, "alice")),
        (await asyncio.to_thread(_token, home, "admin")),
    )
    async with console_client(home) as c:

        async def add(h: dict[str, str], name: str, url: str, **extra: Any) -> Any:
            return await c.client.post(
                "/api/v1/acme/accounts", json={"name": name, "directory": url, **extra}, headers=h
            )

        for i, url in enumerate((closed, listening)):
            resp = await add(user, f"u{i}", url)
            assert resp.status == 403, await resp.text()
            assert "Admin" in (await resp.json())["detail"]

        details = []
        for i, (url, extra) in enumerate(
            (
                (closed, {}),
                (listening + "/dir", {}),  # untrusted TLS
                (listening + "/", {"ca_bundle_pem": ca_pem}),  # trusted, answers, not ACME
                (listening + "/nothing-here", {"ca_bundle_pem": ca_pem}),  # 404
            )
        ):
            resp = await add(admin, f"a{i}", url, **extra)
            assert resp.status == 502, await resp.text()
            details.append((await resp.json())["detail"])
        assert details == [UNREACHABLE] * 4

        accounts = await (await c.client.get("/api/v1/acme/accounts", headers=admin)).json()
        assert accounts == []


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with PebbleServer(tmp_path_factory.mktemp("pebble")) as server:
        yield server


async def test_admin_still_registers_at_a_real_acme_server(
    tmp_path: Path, database_url: str, pebble: PebbleServer
) -> None:
    home = await amake_home(tmp_path, database_url)
    admin = await asyncio.to_thread(_token, home, "admin")
    async with console_client(home) as c:
        resp = await c.client.post(
            "/api/v1/acme/accounts",
            json={
                "name": "pebble",
                "directory": pebble.directory_url,
                "ca_bundle_pem": pebble.ca_bundle_pem.decode(),
            },
            headers=admin,
        )
        assert resp.status == 201, await resp.text()
