"""Requirements and the product catalogue: a chosen product's level is honoured everywhere, the home's products.json extends and overrides the bundled catalogue, which states its date."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from certmgr.controller.services.acquisition.catalogue import use_home_catalogue
from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli


async def _ok(*args: str) -> Any:
    res = await arun_cli(list(args))
    assert res.code == 0, res.out + res.err
    return res.json() if "--json" in args else res.out


async def test_chosen_product_is_honoured_in_cli_api_and_console(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    h = ("--home", str(home))
    await _ok(
        "definition", "new", *h, "--name", "shop", "--cn", "shop.example.test",
        "--issuer", "vendor", "--product", "sectigo-ov",
    )  # fmt: skip
    offered = await _ok("product", "select", "shop", "--json", *h)
    assert {p["validation"] for p in offered} == {"OV"}
    text = await _ok("definition", "show", "shop", *h)
    assert "product      sectigo-ov" in text
    req = await _ok("request", "new", "shop", "--json", *h)
    token = (await arun_cli(["token", "create", "--user", "admin", *h])).out.strip()
    async with console_client(home) as c:
        r = await c.client.get(
            "/api/v1/products?definition=shop", headers={"Authorization": f"Bearer {token}"}
        )
        assert "sectigo-ov" in {p["id"] for p in await r.json()}
        await sign_in(c)
        page = await (await c.client.get(f"/requests/{req['id']}")).text()
        options = re.findall(r'<option value="([^"]+)"', page)
        assert "sectigo-ov" in options and "sectigo-positivessl" not in options
        # requirements are editable in the console form, and shown on the definition
        def_id = (await _ok("definition", "show", "shop", "--json", *h))["id"]
        form = await (await c.client.get(f"/definitions/{def_id}/edit")).text()
        assert '<option value="sectigo-ov" selected>' in form
        r = await c.post_form(
            f"/definitions/{def_id}/edit",
            {"name": "shop", "common_name": "shop.example.test", "sans": "shop.example.test",
             "key_type": "ec-p256", "issuer_kind": "vendor", "validation": "EV", "vendor": "Sectigo",
             "product": "sectigo-ev"},
        )  # fmt: skip
        assert r.status == 303
        page = await (await c.client.get(f"/definitions/{def_id}")).text()
        assert "sectigo-ev" in page and "EV" in page


async def test_home_catalogue_extends_and_overrides(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    h = ("--home", str(home))
    text = await _ok("product", "list", *h)
    assert re.search(r"catalogue of \d{4}-\d{2}-\d{2} \(bundled with certmgr\)", text)
    base = {
        "vendor": "Local CA",
        "validation": "OV",
        "wildcard": False,
        "multi_domain": False,
        "max_sans": 2,
        "max_validity_days": 90,
        "acme": False,
        "eab_required": False,
        "url": "https://ca.example.test/buy",
    }
    (home / "products.json").write_text(
        json.dumps(
            {
                "updated": "2026-12-01",
                "products": [
                    {**base, "id": "local-ov", "name": "House OV"},
                    {
                        **base,
                        "id": "sectigo-ov",
                        "vendor": "Sectigo",
                        "name": "Sectigo OV (contract)",
                    },
                ],
            }
        )
    )
    try:
        rows = await _ok("product", "list", "--json", *h)
        by_id = {p["id"]: p for p in rows}
        assert by_id["local-ov"]["source"] == "local"
        assert by_id["sectigo-ov"]["name"] == "Sectigo OV (contract)"
        assert by_id["sectigo-ev"]["source"] == "bundled"
        text = await _ok("product", "list", *h)
        assert "plus 2 product(s) from" in text and "of 2026-12-01" in text
        await _ok(
            "definition", "new", *h, "--name", "house", "--cn", "house.example.test",
            "--issuer", "vendor", "--product", "local-ov",
        )  # fmt: skip
        offered = await _ok("product", "select", "house", "--json", *h)
        assert "local-ov" in {p["id"] for p in offered}
        # a broken file is named, with the product and what is wrong
        (home / "products.json").write_text(json.dumps({"products": [{"id": "x", "vendor": "V"}]}))
        bad = await arun_cli(["product", "list", *h])
        assert bad.code == 6 and "products.json" in bad.err and "missing" in bad.err
    finally:
        use_home_catalogue(None)
