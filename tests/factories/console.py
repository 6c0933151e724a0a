"""The real controller application on a loopback HTTPS test server, and a signed-in client."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from certmgr.controller.app import create_app
from certmgr.controller.settings import Settings, load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import Clock
from tests.factories.homes import ADMIN_PASSWORD

NEW_PASSWORD = "a much better passphrase 42"


def server_ssl(settings: Settings, vault: object) -> ssl.SSLContext:
    from certmgr.controller.server import console_ssl_context

    return console_ssl_context(settings, vault)  # type: ignore[arg-type]


@dataclass
class Console:
    client: TestClient[aiohttp.web.Request, aiohttp.web.Application]
    settings: Settings
    home: Path

    async def csrf(self, path: str) -> str:
        resp = await self.client.get(path)
        html = await resp.text()
        m = re.search(r'name="csrf" value="([^"]*)"', html) or re.search(
            r"csrf=([A-Za-z0-9_%-]+)", html
        )
        assert m, f"no CSRF token on {path}"
        from urllib.parse import unquote

        return unquote(m.group(1))

    async def post_form(
        self,
        path: str,
        data: dict[str, str],
        *,
        from_page: str | None = None,
        allow_redirects: bool = False,
    ) -> aiohttp.ClientResponse:
        token = await self.csrf(from_page or path)
        return await self.client.post(
            path, data={**data, "csrf": token}, allow_redirects=allow_redirects
        )


@asynccontextmanager
async def console_client(home: Path, *, clock: Clock | None = None) -> AsyncIterator[Console]:
    # reading the home and building the app (templates, routes, engine) is blocking work
    settings = await asyncio.to_thread(load_settings, home)
    vault = await asyncio.to_thread(read_master_key, settings.master_key_path)
    app = await asyncio.to_thread(create_app, settings, vault, clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=await asyncio.to_thread(server_ssl, settings, vault))
    client_ctx = ssl.create_default_context(cafile=str(home / "ca" / "ca.pem"))
    client_ctx.check_hostname = False
    client = TestClient(
        server,
        connector=aiohttp.TCPConnector(ssl=client_ctx),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
    )
    await client.start_server()
    try:
        yield Console(client, settings, home)
    finally:
        await client.close()


async def sign_in(
    c: Console, username: str = "admin", password: str = ADMIN_PASSWORD
) -> aiohttp.ClientResponse:
    resp = await c.client.get("/login")
    html = await resp.text()
    m = re.search(r'name="csrf" value="([^"]*)"', html)
    assert m
    return await c.client.post(
        "/login",
        data={"username": username, "password": password, "csrf": m.group(1)},
        allow_redirects=False,
    )


def field_error(html: str, name: str) -> str:
    """The error a console form shows beside field ``name`` ("" when none)."""
    m = re.search(rf'<span class="field-error" id="err-{name}">([^<]*)</span>', html)
    return m.group(1) if m else ""


async def wait_task(c: Console, location: str, *, polls: int = 600) -> dict[str, object]:
    """Poll a console task (``/tasks/N``, where a long action redirects) until it ends; its status.

    Bounded: ``polls`` polls a tenth of a second apart.
    """
    import asyncio

    m = re.fullmatch(r"/tasks/(\d+)", location)
    assert m, f"not a task page: {location}"
    for _ in range(polls):
        status: dict[str, object] = await (await c.client.get(location + "/status")).json()
        if status["done"]:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"task {location} did not end")
