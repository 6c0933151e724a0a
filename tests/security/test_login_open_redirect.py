"""Finding 5: the ``next`` of the sign-in page only ever leads to a path on this site."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories.console import Console, console_client
from tests.factories.homes import ADMIN_PASSWORD, make_home

HOSTILE = [
    "%2F%09%2Fevil.example",  # "/\t/evil.example": browsers drop the tab -> //evil.example
    "%2F%0a%2Fevil.example",
    "%2F%0d%2Fevil.example",
    "%2F%2Fevil.example",
    "%2F%5Cevil.example",  # "/\evil.example": browsers read \ as /
    "https%3A%2F%2Fevil.example%2F",
    "%2F.%2F%2Fevil.example",
    "%09%2F%2Fevil.example",
]


async def _post_login(c: Console, query: str) -> str:
    page = await c.client.get(f"/login?next={query}")
    m = re.search(r'name="csrf" value="([^"]*)"', await page.text())
    assert m
    resp = await c.client.post(
        f"/login?next={query}",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf": m.group(1)},
        allow_redirects=False,
    )
    assert resp.status == 303
    return resp.headers["Location"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")


@pytest.mark.parametrize("query", HOSTILE)
async def test_login_open_redirect(home: Path, query: str) -> None:
    async with console_client(home) as c:
        assert await _post_login(c, query) == "/dashboard"
        # already signed in: the sign-in page sends the user on, to the same safe place
        resp = await c.client.get(f"/login?next={query}", allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/dashboard"


async def test_login_next_keeps_a_local_path(home: Path) -> None:
    async with console_client(home) as c:
        assert await _post_login(c, "%2Fdefinitions%3Fq%3Dweb") == "/definitions?q=web"
        # the page that asked for sign-in is remembered as an encoded local path
        async with console_client(home) as anon:
            resp = await anon.client.get("/definitions?q=web", allow_redirects=False)
            assert resp.status == 302
            loc = urlsplit(resp.headers["Location"])
            assert loc.path == "/login" and parse_qs(loc.query) == {"next": ["/definitions?q=web"]}
