"""Finding 13: failed sign-ins slow down their source (growing delays); nobody else is locked out."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import aiohttp

from certmgr.shared.clock import FakeClock
from tests.factories.console import Console, console_client
from tests.factories.homes import ADMIN_PASSWORD, amake_home

ATTACKER = "10.66.0.1"
OWNER = "10.1.0.7"


async def _sign_in(c: Console, password: str, source: str) -> aiohttp.ClientResponse:
    c.client.session.cookie_jar.clear()
    h = {"X-Forwarded-For": source}
    page = await c.client.get("/login", headers=h)
    m = re.search(r'name="csrf" value="([^"]*)"', await page.text())
    assert m
    return await c.client.post(
        "/login",
        data={"username": "admin", "password": password, "csrf": m.group(1)},
        headers=h,
        allow_redirects=False,
    )


async def test_signin_throttle_no_lockout(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    conf = home / "config.toml"
    conf.write_text(
        conf.read_text().replace("trusted_proxies = []", 'trusted_proxies = ["127.0.0.1"]')
    )
    clock = FakeClock()
    async with console_client(home, clock=clock) as c:
        delays: list[int] = []
        failures = 0
        while failures < 12:
            resp = await _sign_in(c, "not the password!", ATTACKER)
            if resp.status == 429:
                wait = int(resp.headers["Retry-After"])
                assert f"try again in {wait} second" in await resp.text()
                delays.append(wait)
                clock.advance(dt.timedelta(seconds=wait))
                continue
            assert resp.status == 401
            assert "wrong user name or password" in await resp.text()
            failures += 1
        # no delay for the first two failures, then 1, 2, 4 ... seconds, never more than a minute
        assert delays[:4] == [1, 2, 4, 8]
        assert delays == sorted(delays) and max(delays) <= 60

        # the account is not locked: its owner signs in from elsewhere at once ...
        resp = await _sign_in(c, ADMIN_PASSWORD, OWNER)
        assert resp.status == 303 and resp.headers["Location"] == "/dashboard"
        # ... and even the noisy source may try again once its delay is over
        resp = await _sign_in(c, ADMIN_PASSWORD, ATTACKER)
        assert resp.status == 429
        clock.advance(dt.timedelta(seconds=int(resp.headers["Retry-After"])))
        assert (await _sign_in(c, ADMIN_PASSWORD, ATTACKER)).status == 303


async def test_signin_throttle_counts_an_ipv6_64_as_one_source(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    conf = home / "config.toml"
    conf.write_text(
        conf.read_text().replace("trusted_proxies = []", 'trusted_proxies = ["127.0.0.1"]')
    )
    async with console_client(home, clock=FakeClock()) as c:
        for host in range(1, 4):
            resp = await _sign_in(c, "not the password!", f"fd00:66::{host}")
            assert resp.status == 401
        # a fresh address in the same /64 is not a fresh start
        assert (await _sign_in(c, "not the password!", "fd00:66::ffff")).status == 429
        assert (await _sign_in(c, ADMIN_PASSWORD, "fd00:77::1")).status == 303
