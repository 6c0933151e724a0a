"""Issue 14 item 9 in Chromium: every error at once beside its field, and a secret shown once after
a redirect (a reload neither shows it again nor resubmits the form)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Controller, first_sign_in


async def test_all_errors_at_once_and_secrets_shown_once(
    controller: Controller, browser: Browser
) -> None:
    ctx = await browser.new_context(ignore_https_errors=True)
    page = await ctx.new_page()
    await first_sign_in(page, controller)

    # two wrong fields: both named, each beside its field, the typed e-mail kept
    await page.goto(controller.url + "/users")
    await page.get_by_label("User name").fill("<bad name>")
    await page.get_by_label("E-mail", exact=True).fill("not-an-address")
    await page.get_by_role("button", name="Add user").click()
    await expect(page.locator(".errors-summary")).to_contain_text("2 things need fixing")
    await expect(page.locator("#err-username")).to_be_visible()
    await expect(page.locator("#err-email")).to_be_visible()
    await expect(page.locator("#f-username")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-email")).to_have_value("not-an-address")

    # a new API token: shown after the redirect, gone on reload, nothing resubmitted
    await page.goto(controller.url + "/account/tokens")
    await page.get_by_label("Name", exact=True).fill("browser")
    await page.get_by_role("button", name="Create token").click()
    await expect(page).to_have_url(controller.url + "/account/tokens")
    secret = page.locator("code.secret")
    await expect(secret).to_be_visible()
    token = (await secret.inner_text()).strip()
    assert token.startswith("cmt_") and token not in page.url
    await page.reload()
    await expect(page.locator("code.secret")).to_have_count(0)
    await expect(page.locator("#tokens tbody tr", has_text="browser")).to_have_count(1)
    await ctx.close()
