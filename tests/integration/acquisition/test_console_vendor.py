"""The vendor flow in the console: acquire, product selection, order, receive; private CA from the console."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import aiohttp

from tests.conftest import require_tool
from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli


async def test_vendor_flow_in_console(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    assert (
        await arun_cli(
            [
                "definition",
                "new",
                "--home",
                str(home),
                "--name",
                "shop",
                "--cn",
                "*.shop.example.test",
                "--issuer",
                "vendor",
                "--validation",
                "OV",
            ]
        )
    ).code == 0
    pw = tmp_path / "pw"
    pw.write_text("vendor secret\n")
    assert (
        await arun_cli(
            [
                "vendor",
                "account",
                "add",
                "corp-digicert",
                "--vendor",
                "DigiCert",
                "--login",
                "certs@corp",
                "--password-file",
                str(pw),
                "--home",
                str(home),
            ]
        )
    ).code == 0
    o = require_tool("openssl")
    ca = tmp_path / "ca"
    ca.mkdir()
    await asyncio.to_thread(
        subprocess.run,
        [
            o,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(ca / "k"),
            "-subj",
            "/CN=Vendor CA",
            "-days",
            "9",
            "-out",
            str(ca / "c.pem"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
        check=True,
        capture_output=True,
    )
    async with console_client(home) as c:
        await sign_in(c)
        page = await (await c.client.get("/definitions")).text()
        def_id = re.search(r'href="/definitions/(\d+)">shop<', page)
        assert def_id
        resp = await c.post_form(
            f"/definitions/{def_id.group(1)}/requests",
            {},
            from_page=f"/definitions/{def_id.group(1)}",
        )
        assert resp.status == 303
        req_url = resp.headers["Location"]
        html = await (await c.client.get(req_url)).text()
        # the selector lists only OV wildcard products
        assert "Basic OV Wildcard" in html and "PositiveSSL" not in html and "Basic EV" not in html
        assert "corp-digicert" in html
        csr = await (await c.client.get(req_url + "/csr.pem")).text()
        assert "BEGIN CERTIFICATE REQUEST" in csr
        resp = await c.post_form(
            req_url + "/order",
            {
                "product": "digicert-basic-ov-wildcard",
                "vendor_account": "1",
                "order_number": "DC-123",
                "order_date": "2026-11-20",
            },
            from_page=req_url,
        )
        assert resp.status == 303
        html = await (await c.client.get(req_url)).text()
        assert "DC-123" in html and "digicert.com" in html
        (tmp_path / "r.csr").write_text(csr)
        (tmp_path / "ext").write_text(
            "subjectAltName=DNS:*.shop.example.test\nbasicConstraints=CA:FALSE\n"
        )
        await asyncio.to_thread(
            subprocess.run,
            [
                o,
                "x509",
                "-req",
                "-in",
                str(tmp_path / "r.csr"),
                "-CA",
                str(ca / "c.pem"),
                "-CAkey",
                str(ca / "k"),
                "-set_serial",
                "77",
                "-days",
                "5",
                "-extfile",
                str(tmp_path / "ext"),
                "-out",
                str(tmp_path / "issued.pem"),
            ],
            check=True,
            capture_output=True,
        )
        token = await c.csrf(req_url)
        form = aiohttp.FormData()
        form.add_field("csrf", token)
        form.add_field("file", (tmp_path / "issued.pem").read_bytes(), filename="issued.pem")
        resp = await c.client.post(f"{req_url}/receive", data=form, allow_redirects=False)
        assert resp.status == 422 and "chain is incomplete" in await resp.text()
        form = aiohttp.FormData()
        form.add_field("csrf", token)
        form.add_field("file", (tmp_path / "issued.pem").read_bytes(), filename="issued.pem")
        form.add_field("chain", (ca / "c.pem").read_bytes(), filename="ca.pem")
        resp = await c.client.post(f"{req_url}/receive", data=form, allow_redirects=False)
        assert resp.status == 303, await resp.text()
        html = await (await c.client.get(req_url)).text()
        assert "completed" in html and "Switched to the new certificate" in html
        # private CA from the console issues at once
        page = await (await c.client.get("/definitions")).text()
        console_id = re.search(r'href="/definitions/(\d+)">certmgr console<', page)
        assert console_id
        resp = await c.post_form(
            f"/definitions/{console_id.group(1)}/requests",
            {},
            from_page=f"/definitions/{console_id.group(1)}",
        )
        assert resp.status == 303
        assert "done" in await (await c.client.get(resp.headers["Location"])).text()
