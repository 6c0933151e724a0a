"""Sign-in, forced password change, sessions, CSRF, roles, IP allow-list, security headers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from certmgr.shared.clock import FakeClock
from tests.factories.console import NEW_PASSWORD, console_client, sign_in
from tests.factories.homes import ADMIN_PASSWORD, amake_home, arun_cli, make_home, run_cli


async def test_one_time_password_forces_change(tmp_path: Path) -> None:
    home = tmp_path / "h"
    res = await arun_cli(["init", "--home", str(home)])
    otp = res.out.strip().splitlines()[-1].strip()
    async with console_client(home) as c:
        resp = await c.client.get("/dashboard", allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/login")
        resp = await sign_in(c, "admin", otp)
        assert resp.status == 303 and resp.headers["Location"] == "/account/password"
        # every other page sends the user back to the password form
        resp = await c.client.get("/definitions", allow_redirects=False)
        assert resp.headers["Location"] == "/account/password"
        resp = await c.post_form(
            "/account/password",
            {"current_password": otp, "new_password": "short", "new_password_again": "short"},
        )
        assert resp.status == 422
        resp = await c.post_form(
            "/account/password",
            {
                "current_password": otp,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
        )
        assert resp.status == 303
        resp = await c.client.get("/definitions")
        assert resp.status == 200
        assert "certmgr console" in await resp.text()


async def test_wrong_password_and_throttle(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    clock = FakeClock()
    async with console_client(home, clock=clock) as c:
        for _ in range(3):
            resp = await sign_in(c, "admin", "wrong password!!")
            assert resp.status == 401
            assert "wrong user name or password" in await resp.text()
        # slowed down, not locked: after the delay the right password works
        resp = await sign_in(c, "admin", ADMIN_PASSWORD)
        assert resp.status == 429 and resp.headers["Retry-After"] == "1"
        assert "try again in 1 second" in await resp.text()
        clock.advance(dt.timedelta(seconds=1))
        assert (await sign_in(c, "admin", ADMIN_PASSWORD)).status == 303
    audit = await arun_cli(["user", "list", "--home", str(home), "--json"])
    assert audit.code == 0


async def test_csrf_is_required(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        assert (await sign_in(c)).status == 303
        resp = await c.client.post(
            "/definitions/new",
            data={"name": "x", "common_name": "x.example"},
            allow_redirects=False,
        )
        assert resp.status == 403
        assert "CSRF" in await resp.text()
        resp = await c.client.post(
            "/definitions/new",
            data={"name": "x", "common_name": "x.example", "csrf": "forged"},
            allow_redirects=False,
        )
        assert resp.status == 403
        resp = await c.post_form(
            "/definitions/new",
            {"name": "x", "common_name": "x.example"},
            from_page="/definitions/new",
        )
        assert resp.status == 303


async def test_user_role_cannot_administer(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    pw = tmp_path / "pw"
    pw.write_text("user password 12345\n")
    assert (
        await arun_cli(
            [
                "user",
                "add",
                "bob",
                "--role",
                "user",
                "--password-file",
                str(pw),
                "--home",
                str(home),
            ]
        )
    ).code == 0
    async with console_client(home) as c:
        assert (await sign_in(c, "bob", "user password 12345")).status == 303
        assert (await c.client.get("/definitions")).status == 200
        assert (await c.client.get("/users")).status == 403
        assert (await c.client.get("/settings")).status == 403
        html = await (await c.client.get("/dashboard")).text()
        assert 'href="/users"' not in html


async def test_security_headers_and_cookie_flags(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        resp = await sign_in(c)
        cookie = resp.headers.getall("Set-Cookie")
        session = [x for x in cookie if x.startswith("__Host-certmgr=")][0]
        for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            assert flag.lower() in session.lower()
        page = await c.client.get("/dashboard")
        h = page.headers
        assert (
            "script-src 'self'" in h["Content-Security-Policy"]
            and "unsafe-inline" not in h["Content-Security-Policy"]
        )
        assert h["X-Frame-Options"] == "DENY"
        assert h["X-Content-Type-Options"] == "nosniff"
        assert "max-age" in h["Strict-Transport-Security"]
        # sign out ends the session
        token = await c.csrf("/dashboard")
        resp = await c.client.post("/logout", data={"csrf": token}, allow_redirects=False)
        assert resp.status == 303
        resp = await c.client.get("/dashboard", allow_redirects=False)
        assert resp.status == 302


async def test_ip_allow_list_reloads_without_restart(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        assert (await c.client.get("/healthz")).status == 200
        (home / "ip_acl.txt").write_text("# only this one\n10.1.2.3/32\n")
        resp = await c.client.get("/healthz")
        assert resp.status == 403
        (home / "ip_acl.txt").write_text("127.0.0.1\n::1\n")
        assert (await c.client.get("/healthz")).status == 200
    res = await arun_cli(["user", "list", "--home", str(home)])
    assert res.code == 0


async def test_password_change_ends_other_sessions(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as a, console_client(home) as b:
        assert (await sign_in(a)).status == 303
        assert (await sign_in(b)).status == 303
        resp = await a.post_form(
            "/account/password",
            {
                "current_password": ADMIN_PASSWORD,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
        )
        assert resp.status == 303
        assert (await a.client.get("/dashboard")).status == 200
        resp = await b.client.get("/dashboard", allow_redirects=False)
        assert resp.status == 302


async def test_trusted_proxy_address_is_the_one_checked(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    conf = home / "config.toml"
    conf.write_text(
        conf.read_text().replace("trusted_proxies = []", 'trusted_proxies = ["127.0.0.1"]')
    )
    (home / "ip_acl.txt").write_text("198.51.100.0/24\n")
    async with console_client(home) as c:
        # straight from loopback: refused, the proxy itself is not on the list
        assert (await c.client.get("/healthz")).status == 403
        ok = await c.client.get("/healthz", headers={"X-Forwarded-For": "198.51.100.9"})
        assert ok.status == 200
        bad = await c.client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.1"})
        assert bad.status == 403
        # a client's forged line, then the line a proxy appended: the proxy's is the one that counts
        from multidict import CIMultiDict

        two = CIMultiDict([("X-Forwarded-For", "198.51.100.9"), ("X-Forwarded-For", "203.0.113.1")])
        assert (await c.client.get("/healthz", headers=two)).status == 403


def test_serve_rejects_a_bad_trusted_proxy(tmp_path: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    res = run_cli(["serve", "--home", str(home), "--trusted-proxy", "proxy.example"])
    assert res.code != 0
    assert "'proxy.example' is not an address or CIDR" in res.err
    assert "Traceback" not in res.err
