"""Vendor accounts edited and deleted in the CLI, the API and the console; ``request order --vendor-account``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from certmgr.controller.settings import load_settings
from tests.factories.console import console_client, sign_in
from tests.factories.homes import all_database_bytes, amake_home, arun_cli


async def _ok(*args: str) -> Any:
    res = await arun_cli(list(args))
    assert res.code == 0, res.out + res.err
    return res.json() if "--json" in args else res.out


async def _accounts(h: tuple[str, str]) -> dict[str, Any]:
    rows = await _ok("vendor", "account", "list", "--json", *h)
    return {r["name"]: r for r in rows}


async def test_vendor_accounts_cli(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ("--home", str(home))
    pw = tmp_path / "pw"
    pw.write_text("first secret\n")
    await _ok(
        "vendor",
        "account",
        "add",
        "acme-shop",
        "--vendor",
        "Sectigo",
        "--password-file",
        str(pw),
        *h,
    )
    await _ok("vendor", "account", "add", "spare", "--vendor", "DigiCert", *h)
    new_pw = tmp_path / "pw2"
    new_pw.write_text("second secret 7f3a\n")
    await _ok(
        "vendor", "account", "edit", "acme-shop", "--name", "sectigo-main", "--vendor", "Sectigo",
        "--vendor", "Comodo", "--login", "buyer", "--email", "buyer@example.test",
        "--password-file", str(new_pw), *h,
    )  # fmt: skip
    acc = (await _accounts(h))["sectigo-main"]
    assert acc["vendors"] == ["Sectigo", "Comodo"] and acc["login"] == "buyer"
    assert acc["email"] == "buyer@example.test" and acc["password_stored"] is True
    # the new password is sealed, never stored in the clear
    stored = await asyncio.to_thread(all_database_bytes, await _settings_url(home))
    assert b"second secret 7f3a" not in stored
    bad = await arun_cli(["vendor", "account", "edit", "sectigo-main", "--email", "nope", *h])
    assert bad.code == 2 and "e-mail" in bad.err
    taken = await arun_cli(["vendor", "account", "edit", "sectigo-main", "--name", "spare", *h])
    assert taken.code == 4 and "exists" in taken.err
    await _ok("vendor", "account", "edit", "sectigo-main", "--clear-password", *h)
    assert (await _accounts(h))["sectigo-main"]["password_stored"] is False

    # request order --vendor-account (name or id), then the account cannot be deleted
    await _ok(
        "definition", "new", *h, "--name", "shop", "--cn", "shop.example.test", "--issuer", "vendor"
    )
    req = await _ok("request", "new", "shop", "--json", *h)
    missing = await arun_cli(
        ["request", "order", str(req["id"]), "--number", "X-1", "--vendor-account", "nobody", *h]
    )
    assert missing.code == 3 and "no vendor account 'nobody'" in missing.err
    await _ok(
        "request",
        "order",
        str(req["id"]),
        "--number",
        "ORD-1",
        "--vendor-account",
        "sectigo-main",
        *h,
    )
    shown = await _ok("request", "show", str(req["id"]), "--json", *h)
    assert shown["vendor_account_id"] == acc["id"]
    refused = await arun_cli(["vendor", "account", "delete", "sectigo-main", *h])
    assert refused.code == 4 and "1 requests refer to it" in refused.err
    await _ok("vendor", "account", "delete", "spare", *h)
    assert set(await _accounts(h)) == {"sectigo-main"}


async def _settings_url(home: Path) -> str:
    return (await asyncio.to_thread(load_settings, home)).database_url


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_vendor_accounts_api_and_console(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ("--home", str(home))
    await _ok("vendor", "account", "add", "one", "--vendor", "Sectigo", *h)
    token = (await arun_cli(["token", "create", "--user", "admin", *h])).out.strip()
    auth = {"Authorization": f"Bearer {token}"}
    ids = {k: v["id"] for k, v in (await _accounts(h)).items()}
    async with console_client(home) as c:
        api = c.client
        url = f"/api/v1/vendor/accounts/{ids['one']}"
        r = await api.patch(url, json={"vendors": []}, headers=auth)
        assert r.status == 422 and "vendor" in (await r.json())["detail"]
        r = await api.patch(
            url, json={"login": "api-user", "password": "pw-from-api"}, headers=auth
        )
        got = await r.json()
        assert r.status == 200 and got["login"] == "api-user" and got["password_stored"] is True
        assert "pw-from-api" not in await r.text()
        r = await api.delete(url, headers=auth)
        assert r.status == 204
        assert (await api.delete(url, headers=auth)).status == 404

        await sign_in(c)
        page = await (await api.get("/vendor-accounts")).text()
        assert "No vendor accounts yet" in page
        r = await c.post_form("/vendor-accounts", {"name": "", "vendors": "Sectigo"})
        assert r.status == 422 and "Name is required" in await r.text()
        r = await c.post_form(
            "/vendor-accounts",
            {
                "name": "console",
                "vendors": "Sectigo, DigiCert",
                "login_name": "me",
                "password": "s3cret",
            },
        )
        assert r.status == 303
        page = await (await api.get("/vendor-accounts")).text()
        m = re.search(r'href="/vendor-accounts/(\d+)">console<', page)
        assert m and "Sectigo, DigiCert" in page and "s3cret" not in page
        edit = f"/vendor-accounts/{m.group(1)}"
        r = await c.post_form(
            edit,
            {
                "name": "console-2",
                "vendors": "DigiCert",
                "login_name": "me",
                "registered_email": "x",
            },
        )
        assert r.status == 422 and "e-mail" in await r.text()
        r = await c.post_form(
            edit,
            {
                "name": "console-2",
                "vendors": "DigiCert",
                "login_name": "me",
                "registered_email": "",
            },
        )
        assert r.status == 303
        page = await (await api.get("/vendor-accounts")).text()
        assert "console-2" in page and "stored" in page
        r = await c.post_form(edit + "/delete", {}, from_page="/vendor-accounts")
        assert r.status == 303
        page = await (await api.get("/vendor-accounts")).text()
        assert "deleted" in page and 'href="/vendor-accounts/' not in page
