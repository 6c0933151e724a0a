"""Finding 8: sign-out, a password reset and disabling a user end the session on the server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories.console import Console, console_client, sign_in
from tests.factories.homes import arun_cli, make_home

COOKIE = "__Host-certmgr"


def _session_cookie(resp_headers: list[str]) -> str:
    for line in resp_headers:
        m = re.match(rf"{COOKIE}=([^;]+)", line)
        if m:
            return m.group(1)
    raise AssertionError("no session cookie")


async def _replay(c: Console, cookie: str) -> int:
    """Status of /dashboard for a copy of a stolen cookie (no cookie jar involved)."""
    c.client.session.cookie_jar.clear()
    resp = await c.client.get(
        "/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False
    )
    return resp.status


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> Path:
    return make_home(tmp_path, database_url)


async def test_signout_revokes_session(home: Path) -> None:
    async with console_client(home) as c:
        cookie = _session_cookie((await sign_in(c)).headers.getall("Set-Cookie"))
        assert (await c.client.get("/dashboard")).status == 200
        token = await c.csrf("/dashboard")
        resp = await c.client.post("/logout", data={"csrf": token}, allow_redirects=False)
        assert resp.status == 303
        # the cookie copied before sign-out is worth nothing afterwards
        assert await _replay(c, cookie) == 302


async def test_every_sign_in_gets_a_new_session_id(home: Path) -> None:
    async with console_client(home) as c:
        first = _session_cookie((await sign_in(c)).headers.getall("Set-Cookie"))
        c.client.session.cookie_jar.clear()
        second = _session_cookie((await sign_in(c)).headers.getall("Set-Cookie"))
        assert first != second
        assert await _replay(c, first) == 200 and await _replay(c, second) == 200


async def test_reset_and_disable_revoke_sessions(home: Path, tmp_path: Path) -> None:
    pw = tmp_path / "bob-pw"
    pw.write_text("bob's password 12345\n")
    args = ["user", "add", "bob", "--password-file", str(pw), "--home", str(home)]
    assert (await arun_cli(args)).code == 0
    async with console_client(home) as admin, console_client(home) as bob:
        assert (await sign_in(admin)).status == 303
        html = await (await admin.client.get("/users")).text()
        bob_id = re.search(r'action="/users/(\d+)/reset-password"', html.split("bob", 1)[1])
        assert bob_id
        uid = bob_id.group(1)

        cookie = _session_cookie(
            (await sign_in(bob, "bob", "bob's password 12345")).headers.getall("Set-Cookie")
        )
        assert await _replay(bob, cookie) == 200
        resp = await admin.post_form(
            f"/users/{uid}/reset-password", {}, from_page="/users", allow_redirects=True
        )
        assert resp.status == 200
        assert await _replay(bob, cookie) == 302

        otp = re.search(r'<code class="secret">([^<]+)</code>', await resp.text())
        assert otp
        cookie = _session_cookie(
            (await sign_in(bob, "bob", otp.group(1))).headers.getall("Set-Cookie")
        )
        assert await _replay(bob, cookie) == 302  # must change the password first ...
        resp = await bob.client.get("/account/password", headers={"Cookie": f"{COOKIE}={cookie}"})
        assert resp.status == 200  # ... but the session is alive
        resp = await admin.post_form(
            f"/users/{uid}", {"email": "", "role": "user", "disabled": "on"}, from_page="/users"
        )
        assert resp.status == 303
        resp = await bob.client.get(
            "/account/password", headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False
        )
        assert resp.status == 302 and resp.headers["Location"].startswith("/login")
