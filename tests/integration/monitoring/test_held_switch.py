"""The scheduler's 'held-switch' job makes a held certificate current at its time, not before; an archived definition is neither renewed nor switched."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.factories.homes import arun_cli
from tests.integration.monitoring.conftest import MonEnv


async def _cli(env: MonEnv, *args: str) -> Any:
    res = await arun_cli([*args, "--home", str(env.home)])
    assert res.code == 0, res.err
    return res.json() if "--json" in args else res.out


async def test_held_switch_job(env: MonEnv) -> None:
    await _cli(env, "definition", "new", "--name", "held", "--cn", "held.example.test")
    first = (await _cli(env, "request", "new", "held", "--wait", "--json"))["certificate_id"]
    second = (await _cli(env, "request", "new", "held", "--wait", "--json"))["certificate_id"]
    until = (env.clock.now() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    await _cli(env, "definition", "hold", "held", str(first), "--until", until)

    run = await env.scheduler.run_job("held-switch", force=True)
    assert run.status == "ok" and run.summary["switched"] == 0, run
    shown = await _cli(env, "definition", "show", "held", "--json")
    assert shown["current_certificate_id"] == second and shown["held_certificate_id"] == first

    env.clock.advance(dt.timedelta(hours=2))
    run = await env.scheduler.run_job("held-switch", force=True)
    assert run.status == "ok" and run.summary["switched"] == 1, run
    shown = await _cli(env, "definition", "show", "held", "--json")
    assert shown["current_certificate_id"] == first and shown["held_certificate_id"] is None
    switch = next(e for e in shown["history"] if e["action"] == "definition.switch-current")
    assert switch["actor"] == "system" and switch["detail"]["why"] == "held until due"

    # archived: the renewal job leaves it alone
    await _cli(env, "definition", "archive", "held")
    env.clock.advance(dt.timedelta(days=400))
    run = await env.scheduler.run_job("renewal", force=True)
    assert run.status == "ok", run.error
    requests = await _cli(env, "request", "list", "--json")
    assert [r["definition_id"] for r in requests].count(shown["id"]) == 2
