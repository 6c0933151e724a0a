"""Upload forms carry their CSRF token as the first multipart part, never in the address."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli
from tests.factories.pki import make_leaf, pem_bytes


@pytest.mark.parametrize("database", ["sqlite"])
async def test_upload_forms_take_the_token_from_the_body_only(
    tmp_path: Path, database: str
) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    h = ["--home", str(home)]
    assert (
        await arun_cli(["definition", "new", *h, "--name", "web", "--cn", "w.example.test"])
    ).code == 0
    assert (await arun_cli(["request", "new", *h, "web"])).code == 0
    _, cert = make_leaf(None, None, "up.example.test", ["up.example.test"])
    leaf = pem_bytes(cert)
    async with console_client(home) as c:
        await sign_in(c)
        # no page puts the token into a form's address
        for path in ("/import", "/definitions/2"):
            html = await (await c.client.get(path)).text()
            assert 'enctype="multipart/form-data"' in html, path
            assert not re.search(r'action="[^"]*csrf=', html), path
        token = await c.csrf("/import")

        def form(with_token: bool) -> aiohttp.FormData:
            f = aiohttp.FormData()
            if with_token:
                f.add_field("csrf", token)
            f.add_field("file", leaf, filename="up.pem", content_type="application/octet-stream")
            return f

        # the token in the query string alone no longer counts
        refused = await c.client.post(f"/import?csrf={token}", data=form(False))
        assert refused.status == 403 and "CSRF check failed" in await refused.text()
        assert (await c.client.post("/import", data=form(False))).status == 403
        accepted = await c.client.post("/import", data=form(True))
        assert accepted.status == 200 and "up.example.test" in await accepted.text()
        # a document upload reads the rest of the same stream after the token
        doc = aiohttp.FormData()
        doc.add_field("csrf", token)
        doc.add_field("file", b"notes about the server\n", filename="notes.txt")
        resp = await c.client.post("/definitions/2/documents", data=doc, allow_redirects=False)
        assert resp.status == 303
        page = await (await c.client.get("/definitions/2")).text()
        assert "notes.txt" in page
