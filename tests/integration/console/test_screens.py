"""Console screens end to end over HTTPS: import, definitions, documents, downloads, keys, CA, users, settings, mail."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.conftest import require_tool
from tests.factories.console import Console, console_client, sign_in
from tests.factories.homes import amake_home
from tests.factories.pki import leaf_a_pkcs12, make_pki
from tests.factories.smtp import SmtpSink


async def _upload(
    c: Console, path: str, fields: dict[str, tuple[str, bytes] | str]
) -> aiohttp.ClientResponse:
    token = await c.csrf("/import" if path.startswith("/import") else "/dashboard")
    form = aiohttp.FormData()
    form.add_field("csrf", token)  # the first part, as the console's forms send it
    for name, value in fields.items():
        if isinstance(value, tuple):
            form.add_field(
                name, value[1], filename=value[0], content_type="application/octet-stream"
            )
        else:
            form.add_field(name, value)
    return await c.client.post(path, data=form, allow_redirects=False)


async def test_import_preview_then_save_then_screens(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    pki = make_pki(["shop.example.test"])
    p12 = leaf_a_pkcs12(pki, b"p12 pass")
    async with console_client(home) as c:
        await sign_in(c)
        resp = await _upload(c, "/import", {"file": ("shop.p12", p12), "password": "wrong"})
        assert resp.status == 422
        assert "Wrong passphrase for shop.p12" in await resp.text()
        resp = await _upload(c, "/import", {"file": ("shop.p12", p12), "password": "p12 pass"})
        html = await resp.text()
        assert resp.status == 200, html
        assert "leaf-A" in html and "included" in html
        # nothing saved yet
        assert "leaf-A" not in await (await c.client.get("/definitions")).text()
        token = re.search(r'name="token" value="([^"]+)"', html)
        assert token
        resp = await c.post_form(
            "/import/confirm", {"token": token.group(1)}, from_page="/dashboard"
        )
        assert resp.status == 303
        detail = await (await c.client.get(resp.headers["Location"])).text()
        assert "shop.example.test" in detail
        listing = await (await c.client.get("/definitions?q=leaf-A")).text()
        assert "leaf-A" in listing and "d left" in listing
        # the token is single use
        resp = await c.post_form(
            "/import/confirm", {"token": token.group(1)}, from_page="/dashboard"
        )
        assert resp.status == 404
        # certificate page and downloads
        certs = await (await c.client.get("/certificates?q=leaf-A")).text()
        cid = re.search(r'href="/certificates/(\d+)"', certs)
        assert cid
        page = await (await c.client.get(f"/certificates/{cid.group(1)}")).text()
        assert (
            pki.leaf_a.fingerprint(
                __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()
            ).hex()
            in page
        )
        full = await (
            await c.client.get(f"/certificates/{cid.group(1)}/download/fullchain.pem")
        ).read()
        assert [x.subject for x in x509.load_pem_x509_certificates(full)] == [
            pki.leaf_a.subject,
            pki.intermediate.subject,
        ]
        der = await (await c.client.get(f"/certificates/{cid.group(1)}/download/cert.der")).read()
        assert x509.load_der_x509_certificate(der) == pki.leaf_a
        # key export (admin): encrypted PKCS#8
        keys = await (await c.client.get("/keys")).text()
        kid = re.search(r'action="/keys/(\d+)/export"', keys)
        assert kid and "BEGIN" not in keys
        resp = await c.post_form(
            f"/keys/{kid.group(1)}/export",
            {
                "format": "pkcs8",
                "passphrase": "export pass 123",
                "passphrase_again": "export pass 123",
            },
            from_page="/keys",
        )
        pem = await resp.read()
        assert b"ENCRYPTED PRIVATE KEY" in pem
        serialization.load_pem_private_key(pem, b"export pass 123")
        audit = await (await c.client.get("/audit?action=key.export")).text()
        assert "key.export" in audit
        dash = await (await c.client.get("/dashboard")).text()
        assert "<svg" in dash and "<rect" in dash


async def test_documents_and_hostile_names(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        resp = await _upload(
            c,
            "/definitions/1/documents",
            {"file": ("../../../../tmp/evil.sh", b"#!/bin/sh\necho pwned\n")},
        )
        assert resp.status == 303
        html = await (await c.client.get("/definitions/1")).text()
        assert "evil.sh" in html and "../" not in html
        assert (
            not Path("/tmp/evil.sh").exists()
            or Path("/tmp/evil.sh").read_bytes() != b"#!/bin/sh\necho pwned\n"
        )
        for p in (home / "documents").rglob("*"):
            assert p.resolve().is_relative_to((home / "documents").resolve())
        doc = re.search(r'href="/definitions/1/documents/(\d+)"', html)
        assert doc
        got = await c.client.get(f"/definitions/1/documents/{doc.group(1)}")
        assert await got.read() == b"#!/bin/sh\necho pwned\n"
        assert got.headers["Content-Disposition"].startswith("attachment;")
        resp = await _upload(c, "/definitions/1/documents", {"file": ("empty.txt", b"")})
        assert resp.status == 303
        resp = await c.post_form(
            f"/definitions/1/documents/{doc.group(1)}/delete", {}, from_page="/definitions/1"
        )
        assert resp.status == 303
        assert (await c.client.get(f"/definitions/1/documents/{doc.group(1)}")).status == 404


async def test_script_in_subject_is_escaped(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    key, csr, crt = tmp_path / "k.pem", tmp_path / "r.csr", tmp_path / "c.pem"
    o = require_tool("openssl")
    await asyncio.to_thread(
        subprocess.run,
        [
            o,
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-subj",
            '/CN=<script>alert("x")</script>/O=Evil "Quotes" & Co',
            "-out",
            str(csr),
        ],
        check=True,
        capture_output=True,
    )
    await asyncio.to_thread(
        subprocess.run,
        [o, "x509", "-req", "-in", str(csr), "-signkey", str(key), "-days", "5", "-out", str(crt)],
        check=True,
        capture_output=True,
    )
    async with console_client(home) as c:
        await sign_in(c)
        resp = await _upload(c, "/import", {"file": ("evil.pem", crt.read_bytes())})
        html = await resp.text()
        assert "<script>alert" not in html, html[
            html.find("script") - 300 : html.find("script") + 100
        ]
        assert "&lt;script" in html
        token = re.search(r'name="token" value="([^"]+)"', html)
        assert token
        await c.post_form("/import/confirm", {"token": token.group(1)}, from_page="/dashboard")
        for page in ("/definitions", "/certificates", "/audit"):
            body = await (await c.client.get(page)).text()
            assert "<script>alert" not in body


async def test_users_and_settings_with_real_smtp(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    files = make_pki(["localhost", "127.0.0.1"]).write(tmp_path / "pki")
    async with (
        SmtpSink(files["fullchainA.pem"], files["leafA.key"]) as sink,
        console_client(home) as c,
    ):
        await sign_in(c)
        resp = await c.post_form(
            "/users", {"username": "dave", "email": "dave@example.test", "role": "user"}
        )
        assert resp.status == 303  # post/redirect/get: the password waits on the server
        html = await (await c.client.get(resp.headers["Location"])).text()
        otp = re.search(r'<code class="secret">([^<]+)</code>', html)
        assert otp
        assert otp.group(1) not in await (await c.client.get("/users")).text()  # shown once
        resp = await c.post_form("/users", {"username": "dave", "role": "user"})
        assert resp.status == 422 and "exists already" in await resp.text()
        resp = await c.post_form("/users", {"username": "<bad name>", "role": "user"})
        assert resp.status == 422
        resp = await c.post_form(
            "/settings/general",
            {"admin_email": "certs@example.test", "external_url": "javascript:alert(1)"},
            from_page="/settings",
        )
        assert resp.status == 422
        resp = await c.post_form(
            "/settings/general",
            {
                "admin_email": "certs@example.test",
                "external_url": "https://certmgr.example.test",
            },
            from_page="/settings",
        )
        assert resp.status == 303
        resp = await c.post_form(
            "/settings/mail",
            {
                "sender_address": "certmgr@example.test",
                "sender_name": "certmgr",
                "smtp_server": f"127.0.0.1:{sink.port}",
                "security": "starttls",
                "smtp_username": "mailer",
                "smtp_password": "s3cret",
                "ca_file": str(files["root.pem"]),
            },
            from_page="/settings",
        )
        assert resp.status == 303
        page = await (await c.client.get("/settings")).text()
        assert "s3cret" not in page
        resp = await c.post_form("/settings/mail/test", {}, from_page="/settings")
        assert resp.status == 303
        assert await sink.messages_arrived(1)
        msg = sink.messages[0].as_email()
        assert msg["To"] == "certs@example.test" and sink.messages[0].login == b"mailer"
        emails = await (await c.client.get("/emails")).text()
        assert "certmgr test e-mail" in emails and "sent" in emails
        # a wrong password is a recorded failure, not an error page
        await c.post_form(
            "/settings/mail",
            {
                "sender_address": "certmgr@example.test",
                "smtp_server": f"127.0.0.1:{sink.port}",
                "security": "starttls",
                "smtp_username": "mailer",
                "smtp_password": "wrong",
                "ca_file": str(files["root.pem"]),
            },
            from_page="/settings",
        )
        resp = await c.post_form("/settings/mail/test", {}, from_page="/settings")
        assert resp.status == 303
        emails = await (await c.client.get("/emails?result=failed")).text()
        assert "failed" in emails
    # the SMTP password is sealed in the database
    from tests.factories.homes import all_database_bytes

    assert b"s3cret" not in (
        await asyncio.to_thread(all_database_bytes, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    )


async def test_audit_log_filters_by_day_and_rejects_bad_days(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        today = await (await c.client.get("/audit?since=2000-01-01")).text()
        assert 'mono">auth.sign-in</span>' in today
        future = await (await c.client.get("/audit?since=2999-01-01")).text()
        past = await (await c.client.get("/audit?until=2000-01-01")).text()
        for body in (future, past):
            assert 'mono">auth.sign-in</span>' not in body
        bad = await c.client.get("/audit?since=yesterday", allow_redirects=True)
        body = await bad.text()
        assert bad.status == 200
        assert "since must be a day" in body and "yesterday" in body
        for day in ("9999-12-31", "2026-02-30", "+2026-1-1"):  # no next day, no such day, odd form
            bad = await c.client.get(f"/audit?until={day}", allow_redirects=True)
            assert bad.status == 200 and "until must be a day" in await bad.text()
