"""The console in a real browser: sign-in with forced change, PKCS#12 upload, status, users and roles, CSRF, escaping."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from playwright.async_api import Browser, Dialog, Page, expect

from tests.conftest import require_tool
from tests.e2e.conftest import Controller
from tests.factories.pki import make_pki

NEW_PW = "browser chosen password 1"


async def _sign_in(page: Page, url: str, user: str, password: str) -> None:
    await page.goto(url + "/login")
    await page.get_by_label("User name").fill(user)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def _change_password(page: Page, current: str, new: str) -> None:
    await expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    await page.get_by_label("Current password").fill(current)
    await page.get_by_label("New password (at least 10 characters)").fill(new)
    await page.get_by_label("New password again").fill(new)
    await page.get_by_role("button", name="Change password").click()


async def test_admin_journey(controller: Controller, browser: Browser, tmp_path: Path) -> None:
    ctx = await browser.new_context(ignore_https_errors=True)
    page = await ctx.new_page()
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await _sign_in(page, controller.url, "admin", controller.otp)
    await expect(page).to_have_url(controller.url + "/account/password")
    await page.goto(controller.url + "/definitions")
    await expect(page).to_have_url(controller.url + "/account/password")
    await _change_password(page, controller.otp, NEW_PW)
    await expect(page.get_by_text("Your password was changed")).to_be_visible()

    # import a PKCS#12 by upload
    pki = make_pki(["web.example.test"])
    p12 = tmp_path / "web.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"web",
            pki.leaf_a_key,
            pki.leaf_a,
            [pki.intermediate],
            serialization.BestAvailableEncryption(b"p12 secret"),
        )
    )
    await page.get_by_role("link", name="Import", exact=True).click()
    await page.get_by_label("Certificate or keystore file(s)").set_input_files(str(p12))
    await page.get_by_label("Passphrase (PKCS#12, keystore, encrypted key)").fill("p12 secret")
    await page.get_by_role("button", name="Read files").click()
    await expect(page.get_by_text("private key included")).to_be_visible()
    await page.get_by_role("button", name="Save to the repository").click()
    await expect(page.get_by_role("heading", name="leaf-A")).to_be_visible()
    await page.get_by_role("link", name="Definitions", exact=True).click()
    row = page.locator("#definitions tr", has_text="leaf-A")
    await expect(row.locator(".badge.warn, .badge.ok").first).to_contain_text("d left")

    # a certificate whose subject holds <script> and quotes renders escaped
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
            '/CN=<script>alert(1)<\\/script>/O="Quoted" <b>Org<\\/b>',
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
    await page.get_by_role("link", name="Import", exact=True).click()
    await page.get_by_label("Certificate or keystore file(s)").set_input_files(str(crt))
    await page.get_by_role("button", name="Read files").click()
    await page.get_by_role("button", name="Save to the repository").click()
    await page.get_by_role("link", name="Definitions", exact=True).click()
    await expect(page.get_by_text("<script>alert(1)</script>").first).to_be_visible()
    assert await page.locator("b", has_text="Org").count() == 0
    assert dialogs == []

    # user management as Admin
    await page.get_by_role("link", name="Users").click()
    await page.get_by_label("User name").fill("erin")
    await page.get_by_label("Role").last.select_option("user")
    await page.get_by_role("button", name="Add user").click()
    otp = (await page.locator("code.secret").inner_text()).strip()
    assert len(otp) >= 16

    # CSRF: a forged token is refused
    await page.goto(controller.url + "/definitions/new")
    await page.get_by_label("Name", exact=True).fill("forged")
    await page.get_by_label("Common name (CN)").fill("forged.example.test")
    await page.evaluate(
        "document.querySelector('form[action=\"/definitions/new\"] input[name=csrf]').value = 'forged-token'"
    )
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_text("CSRF check failed")).to_be_visible()

    # sign out, sign in as the new user: forced change, then no admin screens
    await page.goto(controller.url + "/dashboard")
    await page.get_by_role("button", name="Sign out").click()
    await _sign_in(page, controller.url, "erin", otp)
    await _change_password(page, otp, "erin's own password 7")
    await expect(page.get_by_role("link", name="Users")).to_have_count(0)
    resp = await page.goto(controller.url + "/users")
    assert resp is not None and resp.status == 403
    await page.goto(controller.url + "/definitions")
    await expect(page.locator("#definitions")).to_contain_text("leaf-A")
    await ctx.close()
