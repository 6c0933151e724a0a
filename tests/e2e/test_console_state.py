"""Issue 14 items 1-3 in a real Chromium: an expired import, unset mail and an unreachable check,
each asserted on the rendered page. Screenshots go to .test-artifacts/console-state/."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Controller, first_sign_in
from tests.factories.homes import arun_cli
from tests.factories.pki import make_leaf, pem_bytes

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / ".test-artifacts" / "console-state"


async def test_expired_import_unset_mail_and_unreachable_check(
    controller: Controller, browser: Browser, tmp_path: Path
) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    ctx = await browser.new_context(
        ignore_https_errors=True, viewport={"width": 1366, "height": 850}
    )
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await first_sign_in(page, controller)

    # unset mail: the dashboard says notifications are failing and links to Settings
    await page.goto(controller.url + "/dashboard")
    today = page.locator("#today")
    await expect(today.get_by_text("notifications failing")).to_be_visible()
    await expect(today.get_by_text("no mail server is set", exact=False)).to_be_visible()
    await expect(today.get_by_role("link", name="Set them in Settings")).to_have_attribute(
        "href", "/settings"
    )
    await expect(today).not_to_contain_text("every notification went out")
    await page.screenshot(path=str(ARTEFACTS / "dashboard-mail-unset.png"), full_page=True)

    # an expired certificate: flagged in the preview with its dates, never a green "current"
    now = dt.datetime.now(dt.UTC)
    nb, na = now - dt.timedelta(days=400), now - dt.timedelta(days=3)
    key, cert = make_leaf(
        None, None, "old.example.test", ["old.example.test"], not_before=nb, not_after=na
    )
    pem = tmp_path / "old.pem"
    pem.write_bytes(pem_bytes(cert, key))
    await page.goto(controller.url + "/import")
    await page.get_by_label("Certificate or keystore file(s)").set_input_files(str(pem))
    await page.get_by_role("button", name="Read files").click()
    await expect(
        page.get_by_text(f"the certificate expired on {na:%Y-%m-%d}", exact=False)
    ).to_be_visible()
    await expect(
        page.get_by_text(f"valid from {nb:%Y-%m-%d} to {na:%Y-%m-%d}", exact=False)
    ).to_be_visible()
    await page.screenshot(path=str(ARTEFACTS / "import-preview-expired.png"), full_page=True)
    await page.get_by_role("button", name="Save to the repository").click()
    badge = page.locator(".badge", has_text=f"current, expired {na:%Y-%m-%d}")
    await expect(badge).to_be_visible()
    await expect(badge).to_have_class("badge bad")
    await expect(page.locator(".badge.ok", has_text="current")).to_have_count(0)
    await page.screenshot(path=str(ARTEFACTS / "definition-expired-current.png"), full_page=True)
    # judged at once: the finding is there without any scheduled run
    await page.goto(controller.url + "/findings")
    await expect(
        page.get_by_text("the current certificate of old.example.test expired on", exact=False)
    ).to_be_visible()
    await page.goto(controller.url + "/dashboard")
    await expect(page.locator("#today").get_by_text("old.example.test", exact=False)).to_have_count(
        1
    )

    # an unreachable server: "unreachable" and no verdict on a certificate it never sent
    res = await arun_cli(
        ["deployment", "new", "--home", str(controller.home), "old.example.test"]
        + ["--server", "gone", "--software", "nginx", "--delivery", "conventional"]
        + ["--check", "nothing-here.invalid:443", "--json"]
    )
    assert res.code == 0, res.err
    dep = json.loads(res.out)["id"]
    res = await arun_cli(["deployment", "check", "--home", str(controller.home), str(dep)])
    assert "unreachable" in res.out
    await page.goto(f"{controller.url}/deployments/{dep}")
    check = page.locator("#check")
    await expect(check.locator(".badge", has_text="unreachable").first).to_be_visible()
    for verdict in ("Chain", "Host name", "NOT served", "failed"):
        await expect(check).not_to_contain_text(verdict)
    await page.screenshot(path=str(ARTEFACTS / "deployment-unreachable.png"), full_page=True)
    await page.goto(f"{controller.url}/monitor?deployment={dep}")
    await expect(page.locator(".badge", has_text="unreachable").first).to_be_visible()
    assert errors == []
    await ctx.close()
