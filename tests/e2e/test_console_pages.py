"""Console pages in Chromium: the deployment page's next step, error pages, the favicon."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Controller, first_sign_in
from tests.e2e.test_console_walk import setup_data


async def test_deployment_page_offers_only_valid_actions_with_one_primary(
    controller: Controller, browser: Browser
) -> None:
    await setup_data(controller.home)
    ctx = await browser.new_context(ignore_https_errors=True)
    page = await ctx.new_page()
    await first_sign_in(page, controller)
    await page.goto(controller.url + "/deployments/1")
    actions = page.locator("section.actions")
    await expect(actions).to_contain_text("Expected next: Prepare to deploy")
    primary = actions.locator("button[type=submit]:not(.secondary)")
    await expect(primary).to_have_count(1)
    await expect(primary).to_have_text("Prepare to deploy")
    # nothing was deployed yet: no way to close the deployment is offered
    for name in ("Done", "Continue without checking", "Manually checked deployment"):
        await expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    # labelled fields
    await expect(page.get_by_label("Package passphrase")).to_have_attribute("type", "password")
    await expect(page.get_by_label("Protected: seal the files")).to_have_attribute(
        "type", "checkbox"
    )
    await page.get_by_label("Package passphrase").fill("a passphrase for the package 1")
    await primary.click()
    # the package is built as a task: its page polls, then opens the deployment again; a task
    # that finished before its page was shown offers its result instead (seen under load)
    next_step = page.get_by_text("Expected next: Send the install request")
    result = page.get_by_role("link", name="See the result")
    await expect(next_step.or_(result)).to_be_visible(timeout=60_000)
    if await result.count():
        await result.click()
    await expect(next_step).to_be_visible(timeout=60_000)
    await expect(page.get_by_role("button", name="Continue without checking")).to_be_visible()
    await expect(page.get_by_role("button", name="Done", exact=True)).to_have_count(0)
    await ctx.close()


async def test_error_pages_are_styled_with_a_way_back(
    controller: Controller, browser: Browser
) -> None:
    ctx = await browser.new_context(ignore_https_errors=True)
    page = await ctx.new_page()
    await first_sign_in(page, controller)
    resp = await page.goto(controller.url + "/definitions/999999")
    assert resp is not None and resp.status == 404
    await expect(page.locator("nav.sidebar")).to_be_visible()
    await expect(page.get_by_role("link", name="Go to the dashboard")).to_be_visible()
    resp = await page.goto(controller.url + "/no/such/page")
    assert resp is not None and resp.status == 404
    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    await expect(page.get_by_role("button", name="Back to the previous page")).to_be_visible()
    icon = await page.request.get(controller.url + "/favicon.ico")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
    await ctx.close()


async def test_long_secrets_wrap_and_have_copy_buttons_on_a_phone(
    controller: Controller, browser: Browser
) -> None:
    ctx = await browser.new_context(
        ignore_https_errors=True, viewport={"width": 390, "height": 844}
    )
    await ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await ctx.new_page()
    await first_sign_in(page, controller)
    await page.goto(controller.url + "/agents")
    await page.get_by_role("button", name="Create enrolment token").click()
    command = page.locator("pre[data-copyable]")
    await expect(command).to_contain_text("certmgr-agent enroll --token")
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    copy = page.get_by_role("button", name="Copy enrolment command")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    copied = await page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("certmgr-agent enroll --token ")
    await ctx.close()


async def test_keyboard_skip_link_and_visible_focus(
    controller: Controller, browser: Browser
) -> None:
    ctx = await browser.new_context(ignore_https_errors=True)
    page = await ctx.new_page()
    await first_sign_in(page, controller)
    await page.goto(controller.url + "/dashboard")
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_visible()
    outline = await skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    await page.keyboard.press("Enter")
    assert await page.evaluate("() => document.activeElement.id") == "content"
    # the next Tab lands inside the page, past the sidebar
    await page.keyboard.press("Tab")
    inside = await page.evaluate("() => !!document.activeElement.closest('main')")
    assert inside
    await ctx.close()


async def test_deployment_list_filter_is_kept_in_the_address(
    controller: Controller, browser: Browser
) -> None:
    await setup_data(controller.home)
    ctx = await browser.new_context(ignore_https_errors=True)
    page = await ctx.new_page()
    await first_sign_in(page, controller)
    await page.goto(controller.url + "/deployments")
    rows = page.locator("#deployments tbody tr")
    await expect(rows.filter(has_text="web1.example.test")).to_be_visible()
    # the filter runs on the server; the query stays in the address
    await page.get_by_label("Filter deployments").fill("no-such-server")
    await page.get_by_label("Filter deployments").press("Enter")
    await expect(page).to_have_url(re.compile(r"/deployments\?view=all&q=no-such-server"))
    await expect(rows.filter(has_text="web1.example.test")).to_have_count(0)
    await expect(rows.first).to_contain_text("No deployment matches")
    await page.reload()
    await expect(page.get_by_label("Filter deployments")).to_have_value("no-such-server")
    await page.get_by_label("Filter deployments").fill("web1")
    await page.get_by_label("Filter deployments").press("Enter")
    await expect(rows.filter(has_text="web1.example.test")).to_be_visible()
    # bulk: tick every row, check them now; the task page follows the work to its end
    await page.get_by_label("Select every deployment on this page").check()
    await page.get_by_role("button", name="Check now").click()
    await expect(page.get_by_role("heading", name="Check 1 deployment(s)")).to_be_visible()
    await expect(page.locator("#progress")).to_contain_text("Finished", timeout=60_000)
    await expect(page.get_by_text("Deployment #1:")).to_be_visible()
    await ctx.close()
