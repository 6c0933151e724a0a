"""Issue 14 item 9: forms name every wrong field at once, beside the field, keeping what was typed
(never a password); secrets made by a form are shown once after a redirect (post/redirect/get),
held sealed on the server, never in the URL. Real app over HTTPS; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from tests.factories.console import Console, console_client, field_error, sign_in
from tests.factories.homes import all_database_bytes, amake_home, arun_cli

SECRET = re.compile(r'<code class="secret">([^<]+)</code>')


def _invalid(html: str, name: str) -> bool:
    return bool(re.search(rf'id="f-{name}"[^>]*aria-invalid="true"', html))


async def _shown_once(c: Console, location: str) -> str:
    """The secret on the page a form redirected to; a reload shows it no more."""
    assert "csrf" not in location
    html = await (await c.client.get(location)).text()
    m = SECRET.search(html)
    assert m, f"no secret on {location}"
    assert m.group(1) not in location
    again = await (await c.client.get(location)).text()
    assert m.group(1) not in again and not SECRET.search(again)
    return m.group(1)


async def test_every_error_at_once_input_kept(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        await sign_in(c)
        # users: a bad name and a bad e-mail, both named beside their fields
        resp = await c.post_form(
            "/users", {"username": "<bad name>", "email": "not-an-address", "role": "user"}
        )
        html = await resp.text()
        assert resp.status == 422
        assert field_error(html, "username") and field_error(html, "email")
        assert _invalid(html, "username") and _invalid(html, "email")
        assert 'value="not-an-address"' in html and "2 things need fixing" in html
        # a duplicate name is an inline error on the name, not a "Conflict" page
        resp = await c.post_form("/users", {"username": "admin", "role": "user"})
        html = await resp.text()
        assert resp.status == 422 and "exists already" in field_error(html, "username")

        # API tokens: no name and a lifetime that is no number
        resp = await c.post_form("/account/tokens", {"name": "", "days": "soon"})
        html = await resp.text()
        assert resp.status == 422
        assert field_error(html, "name") == "Name is required."
        assert "whole number" in field_error(html, "days") and 'value="soon"' in html

        # settings: three wrong fields of the general form at once, what was typed kept
        typed = {
            "admin_email": "nobody-at-example",
            "external_url": "javascript:alert(1)",
            "organization": "Example Ltd",
            "token_days": "99999",
        }
        resp = await c.post_form("/settings/general", typed, from_page="/settings")
        html = await resp.text()
        assert resp.status == 422
        for name in ("admin_email", "external_url", "token_days"):
            assert field_error(html, name), name
            assert _invalid(html, name), name
        assert 'value="nobody-at-example"' in html and 'value="Example Ltd"' in html
        # the mail form: two wrong fields; the password typed is never sent back
        resp = await c.post_form(
            "/settings/mail",
            {
                "sender_address": "no address",
                "smtp_server": "bad host name:25",
                "security": "starttls",
                "smtp_password": "typed-password-1234",
            },
            from_page="/settings",
        )
        html = await resp.text()
        assert resp.status == 422
        assert field_error(html, "sender_address") and field_error(html, "smtp_server")
        assert "typed-password-1234" not in html and 'value="no address"' in html
        # editing a definition: three wrong fields at once, the rest of what was typed kept
        res = await arun_cli(
            ["definition", "new", "--home", str(home), "--name", "ed", "--cn", "ed.example.test"]
            + ["--json"]
        )
        assert res.code == 0, res.err
        url = f"/definitions/{json.loads(res.out)['id']}/edit"
        resp = await c.post_form(
            url,
            {
                "name": "",
                "country": "Germany",
                "renew_days_before": "soon",
                "key_type": "ec-p256",
                "issuer_kind": "private-ca",
                "locality": "Bonn",
            },
            from_page=url,
        )
        html = await resp.text()
        assert resp.status == 422 and "3 things need fixing" in html
        for name in ("name", "country", "renew_days_before"):
            assert field_error(html, name) and _invalid(html, name), name
        assert 'value="Bonn"' in html and 'value="Germany"' in html
        # editing a deployment: the same
        res = await arun_cli(
            ["deployment", "new", "ed", "--server", "s.example.test", "--json"]
            + ["--home", str(home)]
        )
        assert res.code == 0, res.err
        url = f"/deployments/{json.loads(res.out)['id']}/edit"
        resp = await c.post_form(
            url,
            {"server_name": "", "check_port": "99999", "delivery": "pigeon", "sni": "kept.test"},
            from_page=url,
        )
        html = await resp.text()
        assert resp.status == 422 and "3 things need fixing" in html
        for name in ("server_name", "check_port", "delivery"):
            assert field_error(html, name) and _invalid(html, name), name
        assert 'value="kept.test"' in html and 'value="99999"' in html
        # enrolment token: a lifetime out of range is named, the name typed is kept
        resp = await c.post_form(
            "/agents/token", {"name": "web-7", "hours": "0"}, from_page="/agents"
        )
        html = await resp.text()
        assert resp.status == 422 and "between 1 and 720" in field_error(html, "hours")
        assert 'value="web-7"' in html


async def test_secrets_are_shown_once_after_a_redirect(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        await sign_in(c)
        resp = await c.post_form("/account/tokens", {"name": "ci", "days": "30"})
        assert resp.status == 303
        location = resp.headers["Location"]
        assert location == "/account/tokens"
        # another page in between does not take it
        assert (await c.client.get("/dashboard")).status == 200
        token = await _shown_once(c, location)
        assert token.startswith("cm")
        api = await c.client.get(
            "/api/v1/definitions", headers={"Authorization": f"Bearer {token}"}
        )
        assert api.status == 200

        resp = await c.post_form(
            "/agents/token", {"name": "web-7", "hours": "2"}, from_page="/agents"
        )
        assert resp.status == 303
        await _shown_once(c, resp.headers["Location"])

        resp = await c.post_form("/users", {"username": "erin", "role": "user"})
        assert resp.status == 303
        # while it waits, the one-time password is sealed on the server, not stored in clear
        held = await asyncio.to_thread(all_database_bytes, c.settings.database_url)
        password = await _shown_once(c, resp.headers["Location"])
        assert password.encode() not in held
        resp = await c.post_form("/account/tokens", {"name": "held", "days": "1"})
        assert resp.status == 303
        # sign-out drops a secret nobody looked at
        await c.post_form("/logout", {}, from_page="/dashboard")
        await sign_in(c)
        assert not SECRET.search(await (await c.client.get("/account/tokens")).text())
