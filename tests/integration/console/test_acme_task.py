"""Issue 14 item 10: an ACME order started in the console runs as a task whose page shows its
progress and then its result (real Pebble, real HTTP-01 validation; SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from certmgr.controller import appkeys
from certmgr.controller.services.acquisition.acme_runtime import http01_responder
from tests.factories.acme_servers import PebbleServer
from tests.factories.console import console_client, sign_in, wait_task
from tests.factories.homes import amake_home, arun_cli


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    with PebbleServer(tmp_path_factory.mktemp("pebble")) as server:
        yield server


async def test_acme_order_is_a_task_with_progress_and_result(
    tmp_path: Path, database_url: str, pebble: PebbleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ["--home", str(home)]
    bundle = tmp_path / "pebble-ca.pem"
    bundle.write_bytes(pebble.ca_bundle_pem)
    res = await arun_cli(
        ["acme", "account", "add", "pebble", "--directory", pebble.directory_url, *h]
        + ["--ca-bundle", str(bundle), "--email", "ops@example.test"]
    )
    assert res.code == 0, res.err
    res = await arun_cli(
        ["definition", "new", *h, "--name", "public", "--cn", "www.public.test", "--json"]
        + ["--issuer", "acme", "--acme-account", "pebble"]
    )
    assert res.code == 0, res.err
    def_id = json.loads(res.out)["id"]
    monkeypatch.setenv("CERTMGR_HTTP01_LISTEN", f"127.0.0.1:{pebble.http_port}")
    async with console_client(home) as c:
        app = c.client.app
        assert app is not None
        db = app[appkeys.DB]
        async with http01_responder(c.settings, db):
            await sign_in(c)
            page = f"/definitions/{def_id}"
            resp = await c.post_form(page + "/requests", {}, from_page=page)
            assert resp.status == 303
            task = resp.headers["Location"]
            assert task.startswith("/tasks/")
            running = await (await c.client.get(task)).text()
            assert "Order the certificate of request" in running
            assert 'data-poll="' + task + '/status"' in running or "Finished" in running
            status = await wait_task(c, task)
        assert status["state"] == "done", status
        location = str(status["location"])
        assert location.startswith("/requests/")  # one order that went well: its request next
        req = await (await c.client.get(location)).text()
        assert "completed" in req
        done = await (await c.client.get(task)).text()
        assert "is completed" in done and "See the result" in done
