"""Issue 14 item 9, the remaining forms: vendor accounts (new and edit), the password change, the
webhook form, a vendor request's order and receive forms, the discovery scan form and the import
form name every wrong field at once beside it (``err-<field>``, ``aria-invalid``, a
summary), keep what was typed but never a password or secret, and a valid post redirects (303).
Real app over HTTPS; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp

from tests.factories.console import NEW_PASSWORD, Console, console_client, field_error, sign_in
from tests.factories.homes import ADMIN_PASSWORD, amake_home, arun_cli
from tests.factories.pki import leaf_a_pkcs12, make_pki


def _invalid(html: str, name: str) -> bool:
    return bool(re.search(rf'id="f-{name}"[^>]*aria-invalid="true"', html))


def _all_named(html: str, *names: str) -> None:
    for name in names:
        assert field_error(html, name), name
        assert _invalid(html, name), name
        assert f'href="#f-{name}"' in html, name  # in the summary at the top
    assert f"{len(names)} things need fixing" in html


async def test_vendor_account_forms(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        await sign_in(c)
        # new: no name, no vendor, a bad e-mail, a password typed: all named, the rest kept
        typed = {
            "name": "",
            "vendors": " , ",
            "login_name": "buyer-1",
            "password": "typed-vendor-password",
            "registered_email": "not an address",
            "notes": "kept notes",
        }
        resp = await c.post_form("/vendor-accounts", typed)
        html = await resp.text()
        assert resp.status == 422
        _all_named(html, "name", "vendors", "registered_email")
        assert field_error(html, "name") == "Name is required."
        assert "at least one vendor" in field_error(html, "vendors")
        assert 'value="buyer-1"' in html and 'value="not an address"' in html
        assert "kept notes" in html and "typed-vendor-password" not in html

        ok = {"name": "shop", "vendors": "Sectigo, DigiCert", "password": "pw-1234567"}
        resp = await c.post_form("/vendor-accounts", ok)
        assert resp.status == 303 and resp.headers["Location"] == "/vendor-accounts"
        # a taken name is an inline error on the name, not a "Conflict" page
        resp = await c.post_form("/vendor-accounts", {**ok, "login_name": "again"})
        html = await resp.text()
        assert resp.status == 422 and "exists already" in field_error(html, "name")
        assert 'value="again"' in html and "pw-1234567" not in html

        page = await (await c.client.get("/vendor-accounts")).text()
        m = re.search(r'href="/vendor-accounts/(\d+)">shop<', page)
        assert m
        edit = f"/vendor-accounts/{m.group(1)}"
        resp = await c.post_form(
            edit,
            {
                "name": "x" * 101,
                "vendors": "",
                "login_name": "buyer-2",
                "password": "typed-new-password",
                "registered_email": "a@b@c",
            },
        )
        html = await resp.text()
        assert resp.status == 422
        _all_named(html, "name", "vendors", "registered_email")
        assert "at most 100 characters" in field_error(html, "name")
        assert 'value="buyer-2"' in html and "typed-new-password" not in html
        # nothing changed meanwhile
        page = await (await c.client.get("/vendor-accounts")).text()
        assert ">shop<" in page and "buyer-2" not in page

        resp = await c.post_form(
            edit, {"name": "shop-2", "vendors": "DigiCert", "login_name": "buyer-2"}
        )
        assert resp.status == 303 and resp.headers["Location"] == "/vendor-accounts"
        page = await (await c.client.get("/vendor-accounts")).text()
        assert ">shop-2<" in page and "buyer-2" in page and "stored" in page


async def test_password_change_form(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        await sign_in(c)
        # a wrong current password, a short new one and a repeat that differs: all three named
        resp = await c.post_form(
            "/account/password",
            {
                "current_password": "wrong-current-pw",
                "new_password": "short",
                "new_password_again": "shorter",
            },
        )
        html = await resp.text()
        assert resp.status == 422
        _all_named(html, "current_password", "new_password", "new_password_again")
        assert "current password is wrong" in field_error(html, "current_password")
        assert "at least 10 characters" in field_error(html, "new_password")
        assert "differ" in field_error(html, "new_password_again")
        for typed in ("wrong-current-pw", 'value="short', ADMIN_PASSWORD):
            assert typed not in html, typed
        # nothing typed for the current one; the new one is the user name itself
        resp = await c.post_form(
            "/account/password",
            {"current_password": "", "new_password": "admin", "new_password_again": "admin"},
        )
        html = await resp.text()
        assert resp.status == 422
        _all_named(html, "current_password", "new_password")
        assert "current password" in field_error(html, "current_password")
        # the right current password with a long enough new one that differs: only the repeat
        resp = await c.post_form(
            "/account/password",
            {
                "current_password": ADMIN_PASSWORD,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD + "x",
                "revoke_tokens": "",
            },
        )
        html = await resp.text()
        assert resp.status == 422 and "1 thing needs fixing" in html
        assert field_error(html, "new_password_again") and not field_error(html, "new_password")
        assert NEW_PASSWORD not in html
        assert not re.search(r'name="revoke_tokens" checked', html)  # the unticked box stays so
        # still the old password: nothing changed
        resp = await c.post_form(
            "/account/password",
            {
                "current_password": ADMIN_PASSWORD,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
        )
        assert resp.status == 303 and resp.headers["Location"] == "/dashboard"
        assert (await c.client.get("/dashboard")).status == 200


async def test_webhook_form(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        await sign_in(c)
        # a URL that is not http(s) and a secret too short: both named; the ticked event stays
        resp = await c.post_form(
            "/notifications/webhooks",
            {"url": "ftp://chat.example.test/x", "secret": "short-secret", "event_digest": "on"},
            from_page="/notifications",
        )
        html = await resp.text()
        assert resp.status == 422
        _all_named(html, "url", "secret")
        assert "16 to 200 characters" in field_error(html, "secret")
        assert 'value="ftp://chat.example.test/x"' in html and "short-secret" not in html
        assert re.search(r'name="event_digest" checked', html)
        assert not re.search(r'name="event_ping" checked', html)
        # no URL at all
        resp = await c.post_form("/notifications/webhooks", {"url": ""}, from_page="/notifications")
        html = await resp.text()
        assert resp.status == 422 and field_error(html, "url") == "URL is required."
        assert "No webhooks." in html

        resp = await c.post_form(
            "/notifications/webhooks",
            {"url": "https://chat.example.test/hooks/1", "secret": "s" * 16},
            from_page="/notifications",
        )
        assert resp.status == 303 and resp.headers["Location"] == "/notifications#webhooks"
        html = await (await c.client.get("/notifications")).text()
        assert "https://chat.example.test/…" in html and "No webhooks." not in html


async def _vendor_request(c: Console, home: Path) -> str:
    """A vendor definition's new request (key and CSR made, waiting for the order): its page."""
    res = await arun_cli(
        ["definition", "new", "--home", str(home), "--name", "shop", "--cn", "shop.example.test"]
        + ["--issuer", "vendor", "--json"]
    )
    assert res.code == 0, res.err
    def_id = json.loads(res.out)["id"]
    resp = await c.post_form(
        f"/definitions/{def_id}/requests", {}, from_page=f"/definitions/{def_id}"
    )
    assert resp.status == 303
    return resp.headers["Location"]


async def test_request_order_and_receive_forms(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        await sign_in(c)
        req_url = await _vendor_request(c, home)
        # the order: an unknown product, no order number and a day that is no day, at once
        resp = await c.post_form(
            req_url + "/order",
            {
                "product": "no-such-product",
                "vendor_account": "",
                "order_number": "",
                "order_date": "20.11.2026",
                "tracking_notes": "line one\nline two",
            },
            from_page=req_url,
        )
        html = await resp.text()
        assert resp.status == 422
        _all_named(html, "product", "order_number", "order_date")
        assert "2026-11-27" in field_error(html, "order_date")
        assert 'value="20.11.2026"' in html and "line one\nline two</textarea>" in html

        # a form sent without multipart (no files possible) is refused in words, not a crash
        resp = await c.post_form(req_url + "/receive", {"hold_until": ""}, from_page=req_url)
        assert resp.status == 422 and "multipart/form-data" in await resp.text()
        # receiving: nothing uploaded and a time that is no time, both named; passphrase not kept
        token = await c.csrf(req_url)
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("csrf", token)
        form.add_field("password", "typed-p12-passphrase")
        form.add_field("hold_until", "next tuesday")
        resp = await c.client.post(f"{req_url}/receive", data=form, allow_redirects=False)
        html = await resp.text()
        assert resp.status == 422
        _all_named(html, "file", "hold_until")
        assert "upload or paste" in field_error(html, "file").lower()
        assert 'value="next tuesday"' in html and "typed-p12-passphrase" not in html
        # a 0-byte file is "empty", beside the field it was chosen in
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("csrf", token)
        form.add_field("file", b"", filename="site.pem")
        form.add_field("chain", b"", filename="chain.pem")
        resp = await c.client.post(f"{req_url}/receive", data=form, allow_redirects=False)
        html = await resp.text()
        assert resp.status == 422
        assert "site.pem is empty" in field_error(html, "file")
        assert "chain.pem is empty" in field_error(html, "chain")
        # a pasted text that is no certificate: refused beside the certificate, the text kept
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("csrf", token)
        form.add_field("pasted", "not a certificate")
        resp = await c.client.post(f"{req_url}/receive", data=form, allow_redirects=False)
        html = await resp.text()
        assert resp.status == 422 and field_error(html, "file")
        assert "not a certificate</textarea>" in html

        resp = await c.post_form(
            req_url + "/order",
            {"order_number": "DC-1", "order_date": "2026-11-20", "tracking_notes": "a\nb"},
            from_page=req_url,
        )
        assert resp.status == 303 and resp.headers["Location"] == req_url
        html = await (await c.client.get(req_url)).text()
        assert "DC-1" in html


async def test_discovery_scan_form(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        await sign_in(c)
        resp = await c.post_form(
            "/discovery/settings",
            {"scope": "127.0.0.0/29", "size_limit": "2", "schedule_time": "02:00"},
            from_page="/discovery",
        )
        assert resp.status == 303, await resp.text()
        # a target that is no host and a port out of range: both named at once, both kept
        resp = await c.post_form(
            "/discovery/scans",
            {"targets": "127.0.0.5\nbad_host!", "ports": "443,70000"},
            from_page="/discovery",
        )
        html = await resp.text()
        assert resp.status == 422
        _all_named(html, "targets", "ports")
        assert "bad_host!" in field_error(html, "targets")
        assert "70000" in field_error(html, "ports") or "65535" in field_error(html, "ports")
        assert "127.0.0.5\nbad_host!</textarea>" in html and 'value="443,70000"' in html
        # nothing to scan
        resp = await c.post_form(
            "/discovery/scans", {"targets": " ", "ports": "443"}, from_page="/discovery"
        )
        html = await resp.text()
        assert resp.status == 422 and "name what to scan" in field_error(html, "targets").lower()
        # more pairs than the limit: named on the confirmation box
        resp = await c.post_form(
            "/discovery/scans",
            {"targets": "127.0.0.5 127.0.0.6", "ports": "443,8443"},
            from_page="/discovery",
        )
        html = await resp.text()
        assert resp.status == 422 and _invalid(html, "confirm_large")
        assert "confirm the large scan" in field_error(html, "confirm_large")
        resp = await c.post_form(
            "/discovery/scans",
            {"targets": "127.0.0.5 127.0.0.6", "ports": "443,8443", "confirm_large": "on"},
            from_page="/discovery",
        )
        assert resp.status == 303 and resp.headers["Location"].startswith("/discovery/scans/")


async def test_import_form(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    pki = make_pki(["shop.example.test"])
    p12 = leaf_a_pkcs12(pki, b"p12 pass")
    async with console_client(home) as c:
        await sign_in(c)
        token = await c.csrf("/import")

        async def upload(fields: list[tuple[str, str | tuple[str, bytes]]]) -> tuple[int, str]:
            form = aiohttp.FormData(default_to_multipart=True)
            form.add_field("csrf", token)
            for name, value in fields:
                if isinstance(value, tuple):
                    form.add_field(name, value[1], filename=value[0])
                else:
                    form.add_field(name, value)
            resp = await c.client.post("/import", data=form, allow_redirects=False)
            return resp.status, await resp.text()

        # three empty files and a name too long: each named beside its field; name kept
        status, html = await upload(
            [
                ("file", ("site.p12", b"")),
                ("key", ("site.key", b"")),
                ("chain", ("chain.pem", b"")),
                ("password", "typed-p12-pass"),
                ("name", "n" * 201),
            ]
        )
        assert status == 422
        _all_named(html, "file", "key", "chain", "name")
        assert "site.p12 is empty" in field_error(html, "file")
        assert "site.key is empty" in field_error(html, "key")
        assert f'value="{"n" * 201}"' in html and "typed-p12-pass" not in html
        # a wrong passphrase is said beside the passphrase; the name typed stays
        status, html = await upload(
            [("file", ("shop.p12", p12)), ("password", "wrong"), ("name", "shop")]
        )
        assert status == 422 and "Wrong passphrase for shop.p12" in field_error(html, "password")
        assert _invalid(html, "password") and 'value="shop"' in html
        assert 'value="wrong"' not in html
        status, html = await upload([("file", ("shop.p12", p12)), ("password", "p12 pass")])
        assert status == 200 and "leaf-A" in html
        m = re.search(r'name="token" value="([^"]+)"', html)
        assert m
        resp = await c.post_form("/import/confirm", {"token": m.group(1)}, from_page="/import")
        assert resp.status == 303


async def test_deployment_page_forms(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    res = await arun_cli(
        ["definition", "new", "--home", str(home), "--name", "dp", "--cn", "dp.example.test"]
    )
    assert res.code == 0, res.err
    res = await arun_cli(
        ["deployment", "new", "dp", "--server", "s.example.test", "--json", "--home", str(home)]
    )
    assert res.code == 0, res.err
    url = f"/deployments/{json.loads(res.out)['id']}"
    async with console_client(home) as c:
        await sign_in(c)
        # a weak chosen package passphrase: beside its box, which stays empty
        resp = await c.post_form(url + "/prepare", {"passphrase": "short-pw"}, from_page=url)
        html = await resp.text()
        assert resp.status == 422
        assert "at least 10 characters" in field_error(html, "passphrase")
        assert _invalid(html, "passphrase") and "short-pw" not in html
        # without a check key a result code is refused at the top (nothing to fix in the box)
        resp = await c.post_form(url + "/check-code", {"code": "CMC1-typo"}, from_page=url)
        html = await resp.text()
        assert resp.status == 409 and not field_error(html, "check_code")
        assert 'value="CMC1-typo"' in html
        resp = await c.post_form(url + "/check-key", {}, from_page=url)
        assert resp.status == 303
        # a result code that is no code: beside the code box, what was typed kept
        resp = await c.post_form(url + "/check-code", {"code": "CMC1-typo"}, from_page=url)
        html = await resp.text()
        assert resp.status == 422 and field_error(html, "check_code")
        assert _invalid(html, "check_code") and 'value="CMC1-typo"' in html
        assert '<details id="manual-check" open>' in html
        resp = await c.post_form(url + "/check-code", {"code": ""}, from_page=url)
        html = await resp.text()
        assert resp.status == 422 and field_error(html, "check_code") == "Result code is required."
        # a receipt code for a one-click deployment with no installer yet (a stale page): the
        # receipt box is not offered, so the summary at the top says what is wrong
        res = await arun_cli(
            ["deployment", "new", "dp", "--server", "o.example.test", "--delivery", "oneclick"]
            + ["--json", "--home", str(home)]
        )
        assert res.code == 0, res.err
        oneclick = f"/deployments/{json.loads(res.out)['id']}"
        resp = await c.post_form(oneclick + "/receipt", {"code": "CMR1-typo"}, from_page=oneclick)
        html = await resp.text()
        assert resp.status == 422 and 'href="#f-receipt_code"' in html
        assert "1 thing needs fixing" in html
        assert re.search(r'<li><a href="#f-receipt_code">The receipt code is [^<]+</a>', html)
        # a good passphrase: the package is built as a task (post/redirect/get)
        resp = await c.post_form(
            url + "/prepare", {"passphrase": "a passphrase for the package 1"}, from_page=url
        )
        assert resp.status == 303 and resp.headers["Location"].startswith("/tasks/")
