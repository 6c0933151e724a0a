"""ACME accounts in the console against real Pebble: register, list, errors beside fields, delete."""

from __future__ import annotations

import re
from pathlib import Path

from tests.factories.acme_servers import PebbleServer
from tests.factories.console import console_client, field_error, sign_in
from tests.factories.homes import amake_home, arun_cli


async def test_register_list_and_delete_acme_accounts_in_the_console(
    tmp_path: Path, pebble: PebbleServer
) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        page = await (await c.client.get("/acme-accounts")).text()
        assert "No ACME account yet" in page and 'href="/acme-accounts"' in page  # in the sidebar

        resp = await c.post_form(
            "/acme-accounts", {"name": "bad name!", "directory": ""}, from_page="/acme-accounts"
        )
        html = await resp.text()
        assert resp.status == 422
        assert field_error(html, "name").startswith("Name") or "account name" in field_error(
            html, "name"
        )
        assert field_error(html, "directory") == "Directory URL is required."

        form = {
            "name": "pebble",
            "directory": pebble.directory_url,
            "email": "ops@certmgr.test",
            "ca_bundle_pem": pebble.ca_bundle_pem.decode(),
            "challenge": "http-01",
        }
        resp = await c.post_form("/acme-accounts", form, from_page="/acme-accounts")
        assert resp.status == 303, await resp.text()
        listed = await (await c.client.get("/acme-accounts")).text()
        assert "pebble" in listed and pebble.directory_url in listed
        assert '<span class="badge ok">valid</span>' in listed

        again = await c.post_form("/acme-accounts", form, from_page="/acme-accounts")
        assert again.status == 422
        assert "exists already" in field_error(await again.text(), "name")

        spare = {**form, "name": "spare"}
        assert (
            await c.post_form("/acme-accounts", spare, from_page="/acme-accounts")
        ).status == 303

        # an account a definition uses is not deleted; an unused one is
        h = ["--home", str(home)]
        res = await arun_cli(
            [
                "definition",
                "new",
                *h,
                "--name",
                "web",
                "--cn",
                "web.example.test",
                "--issuer",
                "acme",
                "--acme-account",
                "pebble",
            ]
        )
        assert res.code == 0, res.err
        listed = await (await c.client.get("/acme-accounts")).text()
        ids = {
            name: num
            for num, name in re.findall(
                r'action="/acme-accounts/(\d+)/delete"[^>]*data-confirm="Delete the ACME account (\w+)',
                listed,
            )
        }
        resp = await c.post_form(
            f"/acme-accounts/{ids['pebble']}/delete", {}, from_page="/acme-accounts"
        )
        assert resp.status == 303
        page = await (await c.client.get("/acme-accounts")).text()
        assert "Not deleted: the ACME account &#39;pebble&#39; is used by web" in page
        resp = await c.post_form(
            f"/acme-accounts/{ids['spare']}/delete", {}, from_page="/acme-accounts"
        )
        assert resp.status == 303
        page = await (await c.client.get("/acme-accounts")).text()
        assert "ACME account &#39;spare&#39; deleted." in page
        assert "Delete the ACME account spare" not in page
