"""A walk through every console screen in Chromium at desktop and phone size.

Each page fails the walk on a console error, a failed request, a page wider than the window or an
axe-core violation of serious or critical impact. Screenshots go to .test-artifacts/console-walk/.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, ConsoleMessage, Page, Request, Response, expect

from tests.e2e.conftest import Controller, first_sign_in
from tests.factories.homes import arun_cli

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTEFACTS = ROOT / ".test-artifacts" / "console-walk"
DESKTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}
# Pages reached from other pages rather than from the sidebar (definition 1 is the console's own
# certificate, 2 the one the walk makes).
DETAIL_PAGES = (
    "/definitions/1",
    "/definitions/2",
    "/definitions/new",
    "/certificates/1",
    "/requests/1",
    "/deployments/1",
    "/definitions/1/deployments/new",
    "/account/password",
)


@dataclass
class PageProblems:
    """What went wrong while a page was open."""

    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def watch(self, page: Page, expected_status: dict[str, int]) -> None:
        def on_console(msg: ConsoleMessage) -> None:
            # the browser logs a deliberately visited error page as a failed load
            url = msg.location.get("url", "")
            expected_here = any(url.endswith(p) for p in expected_status)
            if msg.type == "error" and not (expected_here and "status of" in msg.text):
                self.console.append(msg.text)

        def on_failed(req: Request) -> None:
            self.failed.append(f"{req.url}: {req.failure}")

        def on_response(resp: Response) -> None:
            path = resp.url.split("://", 1)[-1].split("/", 1)[-1]
            if resp.status >= 400 and expected_status.get("/" + path) != resp.status:
                self.failed.append(f"{resp.url}: HTTP {resp.status}")

        page.on("console", on_console)
        page.on("pageerror", lambda err: self.console.append(str(err)))
        page.on("requestfailed", on_failed)
        page.on("response", on_response)


async def setup_data(home: Path) -> None:
    """One definition with a certificate from the private CA, and one deployment of it."""
    h = ["--home", str(home)]
    for args in (
        ["definition", "new", *h, "--name", "web", "--cn", "web.example.test"],
        ["request", "new", *h, "--wait", "web"],
        [
            "deployment",
            "new",
            *h,
            "--server",
            "web1.example.test",
            "--software",
            "nginx",
            "--delivery",
            "conventional",
            "--check",
            "127.0.0.1:9",
            "web",
        ],
    ):
        res = await arun_cli(args)
        assert res.code == 0, (args, res.err)


async def _audit(page: Page, axe_source: str) -> dict[str, Any]:
    """Overflow and axe-core findings of the page as it stands."""
    await page.evaluate(axe_source)
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return {"overflow": overflow, "violations": result}


async def _walk(
    browser: Browser, controller: Controller, viewport: dict[str, int], axe_source: str, tag: str
) -> tuple[list[str], dict[str, Any]]:
    ctx = await browser.new_context(ignore_https_errors=True, viewport=viewport)  # type: ignore[arg-type]
    page = await ctx.new_page()
    expected = {"/no-such-page": 404}
    problems = PageProblems()
    problems.watch(page, expected)
    await first_sign_in(page, controller)
    await page.goto(controller.url + "/dashboard")
    if viewport is PHONE:
        # the sidebar is a menu: closed until asked for, then every link is there
        await expect(page.locator("nav.sidebar")).to_be_hidden()
        await page.get_by_role("button", name="Menu").click()
        await expect(page.locator("nav.sidebar")).to_be_visible()
    nav_links = await page.locator("nav.sidebar a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    paths = [*nav_links, *DETAIL_PAGES, "/no-such-page"]
    failures: list[str] = []
    figures: dict[str, Any] = {}
    out = ARTEFACTS / tag
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    for path in paths:
        problems.console.clear()
        problems.failed.clear()
        resp = await page.goto(controller.url + path)
        assert resp is not None
        if resp.status != expected.get(path, 200):
            failures.append(f"{path}: HTTP {resp.status}")
        await page.wait_for_load_state("load")
        found = await _audit(page, axe_source)
        name = path.strip("/").replace("/", "_") or "root"
        await page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        serious = [v for v in found["violations"] if v["impact"] in ("serious", "critical")]
        figures[path] = {
            "overflow_px": found["overflow"],
            "violations": {v["id"]: v["impact"] for v in found["violations"]},
        }
        if found["overflow"] > 0:
            failures.append(f"{path}: page is {found['overflow']} px wider than the window")
        failures += [
            f"{path}: axe {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in serious
        ]
        failures += [f"{path}: console error {m}" for m in problems.console]
        failures += [f"{path}: request failed {m}" for m in problems.failed]
    await ctx.close()
    return failures, figures


async def test_every_screen_desktop_and_phone(controller: Controller, browser: Browser) -> None:
    await setup_data(controller.home)
    axe_source = await asyncio.to_thread(AXE.read_text)
    report: dict[str, Any] = {}
    failures: list[str] = []
    for tag, viewport in (("desktop-1366x850", DESKTOP), ("phone-390x844", PHONE)):
        found, figures = await _walk(browser, controller, viewport, axe_source, tag)
        failures += [f"[{tag}] {f}" for f in found]
        report[tag] = figures
    text = json.dumps(report, indent=1, sort_keys=True)
    await asyncio.to_thread((ARTEFACTS / "axe-report.json").write_text, text)
    # every screen of the sidebar was visited, at both sizes
    assert len(report["desktop-1366x850"]) >= 25, sorted(report["desktop-1366x850"])
    assert not failures, "\n".join(failures)
