"""A definition's life in the API and the console: edit, switch, roll back, hold, archive, restore, delete."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import aiohttp
import pytest

from certmgr.controller.db.engine import Database
from certmgr.controller.services.monitoring.daily import deployments_waiting
from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli
from tests.integration.acquisition.test_requests import _vendor_sign, vendor_ca  # noqa: F401


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_lifecycle_api_and_console(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ["--home", str(home)]
    assert (
        await arun_cli(["definition", "new", *h, "--name", "api", "--cn", "api.example.test"])
    ).code == 0
    first = (await arun_cli(["request", "new", "api", "--wait", "--json", *h])).json()[
        "certificate_id"
    ]
    second = (await arun_cli(["request", "new", "api", "--wait", "--json", *h])).json()[
        "certificate_id"
    ]
    made = await arun_cli(["deployment", "new", "api", "--server", "s.example.test", "--json", *h])
    dep_id = made.json()["id"]
    token = (await arun_cli(["token", "create", "--user", "admin", *h])).out.strip()
    auth = {"Authorization": f"Bearer {token}"}
    async with console_client(home) as c:
        api = c.client
        defs = await (await api.get("/api/v1/definitions?q=api", headers=auth)).json()
        def_id = defs["items"][0]["id"]
        base = f"/api/v1/definitions/{def_id}"
        r = await api.patch(base, json={"country": "Germany"}, headers=auth)
        assert r.status == 422 and "country" in (await r.json())["detail"]
        r = await api.patch(base, json={"bogus": 1}, headers=auth)
        assert r.status == 422
        r = await api.patch(base, json={"validation": "OV", "renew_days_before": 15}, headers=auth)
        d = await r.json()
        assert r.status == 200 and d["requirements"]["validation"] == "OV"
        r = await api.post(base + "/rollback", headers=auth)
        assert r.status == 200 and (await r.json())["current_certificate_id"] == first
        r = await api.post(base + "/current", json={"certificate_id": second}, headers=auth)
        assert r.status == 200 and (await r.json())["current_certificate_id"] == second
        r = await api.post(
            base + "/current",
            json={"certificate_id": first, "hold_until": "2099-01-01T00:00"},
            headers=auth,
        )
        assert (await r.json())["held_certificate_id"] == first
        r = await api.delete(base + "/hold", headers=auth)
        assert (await r.json())["held_certificate_id"] is None
        r = await api.delete(base, headers=auth)
        assert r.status == 409 and "2 certificates" in (await r.json())["detail"]
        r = await api.post(base + "/archive", json={"reason": "gone"}, headers=auth)
        assert r.status == 200 and (await r.json())["archived"] is True
        r = await api.post(base + "/restore", headers=auth)
        assert r.status == 200 and (await r.json())["archived"] is False

        # the console: edit form, switch / roll back, archive / restore
        await sign_in(c)
        page = await (await api.get(f"/definitions/{def_id}/edit")).text()
        assert 'name="validation"' in page and 'value="api"' in page
        r = await c.post_form(
            f"/definitions/{def_id}/edit",
            {
                "name": "api2",
                "common_name": "api.example.test",
                "sans": "api.example.test",
                "key_type": "ec-p256",
                "issuer_kind": "private-ca",
                "validation": "EV",
                "vendor": "",
                "product": "",
                "renew_days_before": "",
                "country": "Germany",
            },
        )
        assert r.status == 422 and "country" in await r.text()
        r = await c.post_form(
            f"/definitions/{def_id}/edit",
            {
                "name": "api2",
                "common_name": "api.example.test",
                "sans": "api.example.test",
                "key_type": "ec-p256",
                "issuer_kind": "private-ca",
                "validation": "EV",
                "vendor": "",
                "product": "",
                "renew_days_before": "30",
                "country": "DE",
                "monitoring": "off",
            },
        )
        assert r.status == 303
        page = await (await api.get(f"/definitions/{def_id}")).text()
        assert "api2" in page and "EV" in page
        dep = await (await api.get(f"/api/v1/deployments/{dep_id}", headers=auth)).json()
        assert dep["monitoring"] is False
        r = await c.post_form(
            f"/definitions/{def_id}/rollback", {}, from_page=f"/definitions/{def_id}"
        )
        assert r.status == 303
        d = await (await api.get(base, headers=auth)).json()
        assert d["current_certificate_id"] == first
        r = await c.post_form(
            f"/definitions/{def_id}/current",
            {"certificate_id": str(second)},
            from_page=f"/definitions/{def_id}",
        )
        assert r.status == 303
        assert (await (await api.get(base, headers=auth)).json())[
            "current_certificate_id"
        ] == second
        r = await c.post_form(
            f"/definitions/{def_id}/delete", {}, from_page=f"/definitions/{def_id}"
        )
        assert r.status == 303
        page = await (await api.get(r.headers["Location"])).text()
        assert "cannot be deleted" in page
        r = await c.post_form(
            f"/definitions/{def_id}/archive", {}, from_page=f"/definitions/{def_id}"
        )
        assert r.status == 303
        listing = await (await api.get("/definitions")).text()
        assert "api2" not in listing
        assert "api2" in await (await api.get("/definitions?archived=yes")).text()
        listed = await (await api.get("/api/v1/definitions?archived=true", headers=auth)).json()
        assert [x["name"] for x in listed["items"]] == ["api2"]
        page = await (await api.get(f"/definitions/{def_id}")).text()
        assert "Archived" in page
        r = await c.post_form(
            f"/definitions/{def_id}/restore", {}, from_page=f"/definitions/{def_id}"
        )
        assert r.status == 303
        assert "api2" in await (await api.get("/definitions")).text()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_deployment_changes_api_and_console(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ["--home", str(home)]
    assert (
        await arun_cli(["definition", "new", *h, "--name", "d", "--cn", "d.example.test"])
    ).code == 0
    one = (
        await arun_cli(["deployment", "new", "d", "--server", "a.example.test", "--json", *h])
    ).json()
    two = (
        await arun_cli(["deployment", "new", "d", "--server", "b.example.test", "--json", *h])
    ).json()
    token = (await arun_cli(["token", "create", "--user", "admin", *h])).out.strip()
    auth = {"Authorization": f"Bearer {token}"}
    async with console_client(home) as c:
        api = c.client
        url = f"/api/v1/deployments/{one['id']}"
        r = await api.patch(url, json={"check_port": 70000}, headers=auth)
        assert r.status == 422 and "port" in (await r.json())["detail"]
        r = await api.patch(
            url,
            json={"server_name": "c.example.test", "check_host": "127.0.0.5", "check_port": 8443,
                  "sni": "d.example.test", "admin_email": "ops@example.test", "monitoring": False},
        headers=auth)  # fmt: skip
        assert r.status == 200 and (await r.json())["monitoring"] is False
        got = await (await api.get(url, headers=auth)).json()
        assert (got["server_name"], got["check_host"], got["check_port"], got["sni"]) == (
            "c.example.test",
            "127.0.0.5",
            8443,
            "d.example.test",
        )
        r = await api.post(url + "/retire", json={"reason": "gone"}, headers=auth)
        assert r.status == 200 and (await r.json())["status"] == "retired"
        r = await api.post(url + "/retire", json={}, headers=auth)
        assert r.status == 409

        await sign_in(c)
        dep = f"/deployments/{two['id']}"
        page = await (await api.get(dep + "/edit")).text()
        assert 'value="b.example.test"' in page and "Switch monitoring off" in page
        r = await c.post_form(
            dep + "/edit",
            {"server_name": "b.example.test", "check_host": "", "check_port": "0", "sni": "",
             "delivery": "conventional", "admin_email": "", "name": "", "notes": ""},
        )  # fmt: skip
        assert r.status == 422 and "Check port must be between 1 and 65535" in await r.text()
        r = await c.post_form(
            dep + "/edit",
            {"server_name": "e.example.test", "check_host": "127.0.0.9", "check_port": "9443",
             "sni": "d.example.test", "delivery": "conventional", "admin_email": "ops@example.test",
             "name": "", "notes": "moved"},
        )  # fmt: skip
        assert r.status == 303
        page = await (await api.get(dep)).text()
        assert "127.0.0.9:9443" in page
        r = await c.post_form(dep + "/monitoring-off", {}, from_page=dep + "/edit")
        assert r.status == 303
        assert "not monitored" in await (await api.get(dep)).text()
        r = await c.post_form(dep + "/retire", {"reason": "server gone"}, from_page=dep + "/edit")
        assert r.status == 303
        got = await (await api.get(f"/api/v1/deployments/{two['id']}", headers=auth)).json()
        assert got["status"] == "retired" and got["monitoring"] is False
        assert got["history"][0]["event"] == "retired"
        # a retired deployment waits for nothing: not on the dashboard's list, not outdated
        db = Database(c.settings.database_url)
        try:
            waiting = await deployments_waiting(db)
        finally:
            await db.dispose()
        assert {w.id for w in waiting}.isdisjoint({one["id"], two["id"]})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_receive_and_hold_api_and_console(
    tmp_path: Path,
    database_url: str,
    vendor_ca: Path,  # noqa: F811
) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ["--home", str(home)]
    reqs: dict[str, int] = {}
    defs: dict[str, int] = {}
    issued: dict[str, bytes] = {}
    for name in ("shop", "shop2"):
        made = await arun_cli(
            [
                "definition",
                "new",
                *h,
                "--name",
                name,
                "--cn",
                "shop.example.test",
                "--issuer",
                "vendor",
                "--json",
            ]
        )
        assert made.code == 0, made.err
        defs[name] = made.json()["id"]
        reqs[name] = (await arun_cli(["request", "new", name, "--json", *h])).json()["id"]
        csr = tmp_path / f"{name}.csr"
        csr.write_text((await arun_cli(["request", "csr", str(reqs[name]), *h])).out)
        out = tmp_path / f"{name}.pem"
        await asyncio.to_thread(_vendor_sign, vendor_ca, csr, out, "DNS:shop.example.test")
        issued[name] = b"".join(
            p.read_bytes() for p in (out, vendor_ca / "int.pem", vendor_ca / "root.pem")
        )
    token = (await arun_cli(["token", "create", "--user", "admin", *h])).out.strip()
    auth = {"Authorization": f"Bearer {token}"}
    async with console_client(home) as c:
        api = c.client
        r = await api.post(
            f"/api/v1/requests/{reqs['shop']}/receive",
            json={"certificate": base64.b64encode(issued["shop"]).decode(), "hold_until": "soon"},
            headers=auth,
        )
        assert r.status == 422 and "hold_until" in (await r.json())["detail"]
        r = await api.post(
            f"/api/v1/requests/{reqs['shop']}/receive",
            json={
                "certificate": base64.b64encode(issued["shop"]).decode(),
                "hold_until": "2099-01-01T06:00",
            },
            headers=auth,
        )
        assert r.status == 200 and (await r.json())["status"] == "received"
        d = await (await api.get(f"/api/v1/definitions/{defs['shop']}", headers=auth)).json()
        assert d["current_certificate_id"] is None and d["held_certificate_id"]
        assert d["switch_at"].startswith("2099-01-01T06:00")

        await sign_in(c)
        req_url = f"/requests/{reqs['shop2']}"
        form = aiohttp.FormData()
        form.add_field("csrf", await c.csrf(req_url))
        form.add_field("file", issued["shop2"], filename="issued.pem")
        form.add_field("hold_until", "2099-02-01T06:00")
        r = await api.post(f"{req_url}/receive", data=form, allow_redirects=False)
        assert r.status == 303, await r.text()
        page = await (await api.get(r.headers["Location"])).text()
        assert "held" in page
        d = await (await api.get(f"/api/v1/definitions/{defs['shop2']}", headers=auth)).json()
        assert d["current_certificate_id"] is None and d["switch_at"].startswith("2099-02-01")
        page = await (await api.get(f"/definitions/{d['id']}")).text()
        assert "is held: it becomes current at 2099-02-01 06:00" in page
