"""The console's static files come from memory with a strong ETag; nothing else is reachable."""

from __future__ import annotations

from pathlib import Path

from tests.factories.console import console_client
from tests.factories.homes import amake_home

STATIC = Path(__file__).resolve().parents[3] / "webui" / "static"


async def test_static_files_etag_and_nothing_else(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        resp = await c.client.get("/static/style.css")
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/css; charset=utf-8"
        assert await resp.read() == (STATIC / "style.css").read_bytes()
        etag = resp.headers["ETag"]
        again = await c.client.get("/static/style.css", headers={"If-None-Match": etag})
        assert again.status == 304 and again.headers["ETag"] == etag
        icon = await c.client.get("/static/favicon.svg")
        assert icon.status == 200 and icon.headers["Content-Type"] == "image/svg+xml"
        script = await c.client.get("/static/app.js")
        assert script.headers["Content-Type"].startswith("text/javascript")
        assert (await c.client.get("/static/nope.css")).status == 404
        for path in ("/static/../pyproject.toml", "/static/%2e%2e%2fapp.py", "/static/..%2fapp.js"):
            resp = await c.client.get(path, allow_redirects=False)
            assert resp.status in (302, 303, 404), path  # to the sign-in page, or not found
            assert b"[project]" not in await resp.read()
        # the old favicon address still leads there
        resp = await c.client.get("/favicon.ico", allow_redirects=False)
        assert resp.status == 301 and resp.headers["Location"] == "/static/favicon.svg"
