"""The dashboard of a new home: a first-run checklist whose steps tick themselves; the expiry chart's y-axis."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from certmgr.controller.services.certificates.overview import DashboardCounts
from certmgr.controller.web.console.dashboard import _nice_ticks, timeline_svg
from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli


def _steps(html: str) -> dict[str, str]:
    return dict(
        (label, state)
        for label, state in re.findall(
            r'<a href="[^"]+">([^<]+)</a><span class="visually-hidden"> \((done|to do)\)', html
        )
    )


@pytest.mark.parametrize("database", ["sqlite"])
async def test_first_run_checklist_ticks_itself(tmp_path: Path, database: str) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        html = await (await c.client.get("/dashboard")).text()
        assert "Getting started (0 of 4 done)" in html
        assert set(_steps(html).values()) == {"to do"}
        for href in ("/settings", "/ca", "/import", "/deployments"):
            assert f'<a href="{href}">' in html

        h = ["--home", str(home)]
        assert (
            await arun_cli(["definition", "new", *h, "--name", "w", "--cn", "w.example.test"])
        ).code == 0
        steps = _steps(await (await c.client.get("/dashboard")).text())
        assert steps["Import your certificates or create a first definition"] == "done"
        assert steps["Make a first deployment"] == "to do"
        res = await arun_cli(
            [
                "deployment",
                "new",
                *h,
                "--server",
                "w1",
                "--software",
                "nginx",
                "--delivery",
                "conventional",
                "w",
            ]
        )
        assert res.code == 0, res.err
        resp = await c.post_form("/dashboard/ca-trusted", {}, from_page="/dashboard")
        assert resp.status == 303
        resp = await c.post_form(
            "/settings/general",
            {"admin_email": "pki@example.test", "token_days": "90"},
            from_page="/settings",
        )
        assert resp.status == 303, await resp.text()
        resp = await c.post_form(
            "/settings/mail",
            {
                "sender_address": "certmgr@example.test",
                "smtp_server": "127.0.0.1:2525",
                "security": "plain",
            },
            from_page="/settings",
        )
        assert resp.status == 303, await resp.text()
        html = await (await c.client.get("/dashboard")).text()
        # every step done: the checklist goes away
        assert "Getting started" not in html, _steps(html)


def test_chart_has_a_y_axis_with_round_ticks_and_labels_inside_the_box() -> None:
    assert _nice_ticks(1) == [0, 1]
    assert _nice_ticks(3) == [0, 1, 2, 3]
    assert _nice_ticks(7) == [0, 2, 4, 6, 8]
    assert _nice_ticks(130) == [0, 50, 100, 150]
    weeks = [0] * 29
    weeks[3], weeks[28] = 7, 2
    counts = DashboardCounts(0, 0, 0, 0, 0, 0, {}, weeks)
    chart = timeline_svg(counts, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    grid = chart["grid"]
    assert isinstance(grid, list) and [g["text"] for g in grid] == ["0", "2", "4", "6", "8"]
    bars = chart["bars"]
    assert isinstance(bars, list)
    width = chart["width"]
    assert isinstance(width, int)
    # the last bar and the last x label stay inside the drawing
    assert bars[-1]["x"] + bars[-1]["w"] <= width
    ticks = chart["ticks"]
    assert isinstance(ticks, list) and all(t["x"] + 20 <= width for t in ticks)
    assert chart["total"] == 9 and chart["peak"] == 7
