"""A definition's whole life in a real browser: edit its requirements, roll back, switch, archive and restore; the requests list with filters in the URL; a vendor account added, edited and deleted; a deployment edited and retired."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Browser, Dialog, expect

from tests.e2e.conftest import Controller, first_sign_in
from tests.factories.homes import run_cli


async def _cli(controller: Controller, *args: str) -> str:
    res = await asyncio.to_thread(run_cli, [*args, "--home", str(controller.home)])
    assert res.code == 0, res.err
    return res.out


async def test_lifecycle_in_the_browser(controller: Controller, browser: Browser) -> None:
    await _cli(controller, "definition", "new", "--name", "web", "--cn", "web.example.test")
    await _cli(controller, "request", "new", "web", "--wait")
    await _cli(controller, "request", "new", "web", "--wait")
    await _cli(controller, "deployment", "new", "web", "--server", "www1.example.test")
    ctx = await browser.new_context(ignore_https_errors=True)
    page = await ctx.new_page()
    confirms: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        confirms.append(dialog.message)
        await dialog.accept()

    page.on("dialog", on_dialog)
    await first_sign_in(page, controller)
    url = controller.url

    # edit the requirements
    await page.goto(url + "/definitions")
    await page.get_by_role("link", name="web", exact=True).click()
    await page.get_by_role("link", name="Edit", exact=True).click()
    await page.get_by_label("Validation level").select_option("OV")
    await page.get_by_label("Renew days before expiry").fill("20")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".flash")).to_contain_text("saved")
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("OV")
    await expect(facts).to_contain_text("20 days before expiry")

    # roll back, then make the newer one current again
    current = page.locator("tr", has=page.locator(".badge", has_text="current"))
    before = await current.locator("a").first.inner_text()
    await page.get_by_role("button", name="Roll back to the previous certificate").click()
    await expect(page.locator(".flash")).to_contain_text("Rolled back")
    after = await current.locator("a").first.inner_text()
    assert after != before and confirms
    await page.get_by_role("button", name="Make current").click()
    await expect(page.locator(".flash")).to_contain_text("is current")
    assert await current.locator("a").first.inner_text() == before

    # archive and restore
    await page.get_by_role("link", name="Edit", exact=True).click()
    await page.get_by_role("button", name="Archive").click()
    await expect(page.locator(".flash")).to_contain_text("Archived")
    await expect(page.get_by_role("heading", name=re.compile("web"))).to_contain_text("Archived")
    await page.get_by_role("button", name="Restore").click()
    await expect(page.locator(".flash")).to_contain_text("Restored")

    # a deployment: edit the check, switch monitoring off, retire
    await page.goto(url + "/definitions")
    await page.get_by_role("link", name="web", exact=True).click()
    await page.locator('a[href^="/deployments/"]').first.click()
    await page.get_by_role("link", name="Edit, monitoring, retire").click()
    await page.get_by_label("Check port").fill("8443")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".flash")).to_contain_text("Deployment saved")
    await expect(page.locator("dl.facts")).to_contain_text(":8443")
    await page.get_by_role("link", name="Edit, monitoring, retire").click()
    await page.get_by_role("button", name="Retire (the server is gone)").click()
    await expect(page.locator(".flash")).to_contain_text("retired")

    # all requests, filtered in the URL
    await page.goto(url + "/requests")
    await expect(page.locator("#requests tbody tr")).to_have_count(2)
    await page.get_by_label("State").select_option("done")
    await page.get_by_label("Issuer").select_option("vendor")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(
        re.compile(r"state=done.*issuer=vendor|issuer=vendor.*state=done")
    )
    await expect(page.locator("#requests")).to_contain_text("No requests match")

    # vendor accounts
    await page.goto(url + "/vendor-accounts")
    await page.get_by_label("Name").fill("shop-login")
    await page.get_by_label("Vendors (comma-separated)").fill("Sectigo")
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator(".flash")).to_contain_text("stored")
    await page.get_by_role("link", name="shop-login").click()
    await page.get_by_label("Login").fill("buyer")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#vendor-accounts")).to_contain_text("buyer")
    await page.locator("#vendor-accounts").get_by_role("button", name="Delete").click()
    await expect(page.locator(".flash")).to_contain_text("deleted")
    await expect(page.locator("#vendor-accounts")).to_contain_text("No vendor accounts yet")
    await ctx.close()
