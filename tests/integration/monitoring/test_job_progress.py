"""Monitoring "run now" reports its progress and result through a small JSON status the page polls."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from certmgr.controller.web.console.monitoring import job_status
from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli
from tests.factories.waiting import async_wait_for

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def test_status_sentences_for_each_state() -> None:
    running = SimpleNamespace(
        holder="r1",
        lease_until=NOW + dt.timedelta(minutes=1),
        progress={"total": 40, "done": 12, "failed": 3},
        last_finished_at=None,
        last_result="",
        last_error="",
    )
    assert job_status(running, False, NOW) == {
        "state": "running",
        "message": "Running: 12 of 40 checked, 3 failing.",
        "done": False,
        "location": "/monitor",
    }
    assert job_status(None, True, NOW)["state"] == "starting"
    assert job_status(None, False, NOW)["message"] == "Not run yet."
    failed = SimpleNamespace(
        holder="",
        lease_until=None,
        progress={},
        last_finished_at=NOW,
        last_result="failed",
        last_error="database locked",
    )
    assert job_status(failed, False, NOW)["message"] == "Last run failed: database locked."


@pytest.mark.parametrize("database", ["sqlite"])
async def test_run_now_then_poll_until_done(tmp_path: Path, database: str) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    h = ["--home", str(home)]
    assert (
        await arun_cli(["definition", "new", *h, "--name", "w", "--cn", "w.example.test"])
    ).code == 0
    assert (await arun_cli(["request", "new", *h, "--wait", "w"])).code == 0
    res = await arun_cli(
        [
            "deployment",
            "new",
            *h,
            "--server",
            "w1",
            "--check",
            "127.0.0.1:9",
            "--delivery",
            "conventional",
            "w",
        ]
    )
    assert res.code == 0, res.err
    async with console_client(home) as c:
        await sign_in(c)
        first = await (await c.client.get("/monitor/jobs/monitoring/status")).json()
        assert first["done"] is True and first["message"] == "Not run yet."
        resp = await c.post_form("/monitor/run", {}, from_page="/monitor")
        assert resp.status == 303

        async def finished() -> dict[str, Any] | None:
            body: dict[str, Any] = await (
                await c.client.get("/monitor/jobs/monitoring/status")
            ).json()
            return body if body["done"] and body["state"] != "idle" else None

        body = await async_wait_for(finished, timeout=60, interval=0.2, what="monitoring run done")
        assert body["state"] == "finished"
        assert "checked" in body["message"] and "failing" in body["message"]
        missing = await c.client.get("/monitor/jobs/nope/status")
        assert missing.status == 404
