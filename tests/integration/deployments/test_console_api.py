"""Deployment screens and API against a real nginx."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories.console import console_client, sign_in, wait_task
from tests.factories.homes import amake_home, arun_cli
from tests.factories.pki import make_pki
from tests.factories.servers import NginxServer


async def test_console_and_api_deployment_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = make_pki(["localhost", "127.0.0.1"]).write(tmp_path / "pki")
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    assert (
        await arun_cli(
            [
                "import",
                "--home",
                str(home),
                str(files["fullchainA.pem"]),
                "--key",
                str(files["leafA.key"]),
                "--name",
                "web",
            ]
        )
    ).code == 0
    token = (
        await arun_cli(["token", "create", "--user", "admin", "--home", str(home)])
    ).out.strip()
    h = {"Authorization": f"Bearer {token}"}
    async with (
        NginxServer(tmp_path / "ngx", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx,
        console_client(home) as c,
    ):
        await sign_in(c)
        defs = await (await c.client.get("/definitions?q=web")).text()
        def_id = re.search(r'href="/definitions/(\d+)">web<', defs)
        assert def_id
        form = {
            "server_name": "localhost",
            "software": "nginx",
            "delivery": "conventional",
            "check_host": "127.0.0.1",
            "check_port": str(ngx.port),
            "sni": "localhost",
            "admin_email": "ops@example.test",
            "monitoring": "on",
        }
        bad = await c.post_form(
            f"/definitions/{def_id.group(1)}/deployments/new", {**form, "check_port": "99999"}
        )
        assert bad.status == 422 and "between 1 and 65535" in await bad.text()
        resp = await c.post_form(f"/definitions/{def_id.group(1)}/deployments/new", form)
        assert resp.status == 303
        dep_url = resp.headers["Location"]
        page = await (await c.client.get(dep_url)).text()
        assert "not deployed yet" in page and "Issue a check key" in page and "CMK1-" not in page
        issued = await c.post_form(dep_url + "/check-key", {}, from_page=dep_url)
        assert issued.status == 303 and "CMK1-" not in issued.headers["Location"]
        assert "CMK1-" in await (await c.client.get(issued.headers["Location"])).text()
        assert "CMK1-" not in await (await c.client.get(dep_url)).text()  # shown once
        resp = await c.post_form(dep_url + "/prepare", {}, from_page=dep_url)
        built = await wait_task(c, resp.headers["Location"])  # a task; then the deployment
        assert built["state"] == "done" and built["location"] == dep_url, built
        html = await (await c.client.get(dep_url)).text()
        passphrase = re.search(r'<code class="secret">([^<]+)</code>', html)
        assert passphrase and "prepared" in html
        # the protected variant: an unpacker stamped onto the runtime (a stand-in file here;
        # the one-click suite runs the real one)
        stand_in = tmp_path / "runtime"
        stand_in.write_bytes(b"\x7fELF stand-in runtime\n" * 100)
        monkeypatch.setenv("CERTMGR_ONECLICK_RUNTIME", str(stand_in))
        resp = await c.post_form(dep_url + "/prepare", {"protect": "on"}, from_page=dep_url)
        assert (await wait_task(c, resp.headers["Location"]))["state"] == "done"
        html = await (await c.client.get(dep_url)).text()
        assert re.search(r'<code class="secret">([^<]+)</code>', html)
        assert "-protected.zip" in html
        dep_id = int(dep_url.rsplit("/", 1)[1])
        refused = await c.client.post(
            f"/api/v1/deployments/{dep_id}/prepare", json={"protect": "yes"}, headers=h
        )
        assert refused.status == 422
        assert "protect must be true or false" in (await refused.json())["detail"]
        made = await c.client.post(
            f"/api/v1/deployments/{dep_id}/prepare", json={"protect": True}, headers=h
        )
        assert made.status == 200 and (await made.json())["filename"].endswith("-protected.zip")
        resp = await c.post_form(dep_url + "/request", {}, from_page=dep_url)
        assert "Install request (preview)" in await resp.text()
        resp = await c.post_form(dep_url + "/check", {}, from_page=dep_url)
        assert resp.status == 303
        page = await (await c.client.get(dep_url)).text()
        assert "Check ok" in page and ">ok<" in page
        resp = await c.post_form(dep_url + "/close", {"how": "done"}, from_page=dep_url)
        assert resp.status == 303
        listing = await (await c.client.get("/deployments")).text()
        assert "confirmed" in listing
        dep_id = int(dep_url.rsplit("/", 1)[1])
        api = await (await c.client.get(f"/api/v1/deployments/{dep_id}", headers=h)).json()
        assert api["status"] == "confirmed" and api["history"][0]["event"] == "confirmed"
        chk = await c.client.post(
            f"/api/v1/deployments/{dep_id}/check", json={"confirm": True}, headers=h
        )
        assert (await chk.json())["ok"] is True
        assert (
            await c.client.post(
                f"/api/v1/deployments/{dep_id}/close", json={"how": "bogus"}, headers=h
            )
        ).status == 422
        made = await c.client.post(
            "/api/v1/deployments",
            json={
                "definition": "web",
                "server_name": "iis.example.test",
                "software": "iis",
                "delivery": "agent",
            },
            headers=h,
        )
        assert made.status == 422 and "conventional" in (await made.json())["detail"]
