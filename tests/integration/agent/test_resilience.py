"""The run loop survives controller restarts, backs off when refused, stops when revoked."""

from __future__ import annotations

import asyncio
import time

from certmgr.agent.settings import AgentSettings
from certmgr.agent.state import AgentState
from tests.factories.fake_controller import FakeController
from tests.factories.pki import TestPki
from tests.factories.waiting import async_wait_for

from .conftest import Site, running


async def test_controller_down_then_up_the_agent_reconnects(
    enrolled: AgentSettings, controller: FakeController, site: Site, pki: TestPki
) -> None:
    state = AgentState(enrolled.state_dir)
    async with running(enrolled) as (_, task):
        await controller.wait_for(lambda: controller.inventories)
        await controller.stop()
        polls = controller.work_polls
        failures: set[object] = set()

        def several_failed_attempts() -> bool:
            # each failed attempt records its time; attempts are at most max_backoff apart
            failures.add(state.read_status().last_error_at)
            return len(failures - {None}) >= 3

        await async_wait_for(several_failed_attempts, timeout=5, what="three failed attempts")
        assert not task.done()
        assert "cannot reach the controller" in state.read_status().last_error
        await controller.start()  # same port, same agents: a restart
        restarted = time.monotonic()
        controller.push(
            controller.seal(deployment_id=1, sequence=1, certificate=pki.leaf_a, key=pki.leaf_a_key)
        )
        report = await controller.wait_for(lambda: controller.reports, timeout=5)
        # reconnection within a few backoff periods (max_backoff is 0.3 s here)
        assert time.monotonic() - restarted < 3
    assert report[0].ok and controller.work_polls > polls
    assert state.read_status().last_contact is not None


async def test_refused_agent_backs_off_and_recovers(
    enrolled: AgentSettings, controller: FakeController, pki: TestPki
) -> None:
    state = AgentState(enrolled.state_dir)
    async with running(enrolled) as (_, task):
        await controller.wait_for(lambda: controller.inventories)
        agent = controller.agent()
        agent.forbidden = True
        await controller.wait_for(lambda: "refused" in state.read_status().last_error, timeout=5)
        requests = len(controller.raw_bodies)  # refused polls never reach the work handler
        started = time.monotonic()
        await async_wait_for(lambda: len(controller.raw_bodies) - requests >= 4, timeout=5)
        # waits max_backoff (0.3 s) between refused polls: it keeps trying, but no busy loop
        assert time.monotonic() - started >= 0.3 * 0.9
        assert not task.done()
        agent.forbidden = False
        controller.push(
            controller.seal(deployment_id=2, sequence=1, certificate=pki.leaf_a, key=pki.leaf_a_key)
        )
        report = await controller.wait_for(lambda: controller.reports, timeout=5)
    assert report[0].ok


async def test_revoked_agent_stops_with_exit_code_5(
    enrolled: AgentSettings, controller: FakeController
) -> None:
    async with running(enrolled) as (_, task):
        await controller.wait_for(lambda: controller.work_polls)
        controller.revoke()
        async with asyncio.timeout(5):
            code = await asyncio.shield(task)
    assert code == 5


async def test_stop_during_a_long_poll_returns_promptly(
    enrolled: AgentSettings, controller: FakeController
) -> None:
    async with running(enrolled) as (runner, task):
        await controller.wait_for(lambda: controller.work_polls)
        started = time.monotonic()
        runner.stop()
        async with asyncio.timeout(2):
            assert await asyncio.shield(task) == 0
    assert time.monotonic() - started < 1
