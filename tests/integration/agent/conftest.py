"""Fixtures of the agent suites: a fake controller on loopback HTTPS, settings, an enrolled agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from certmgr.agent.enroll import enroll
from certmgr.agent.runner import Runner
from certmgr.agent.settings import AgentSettings, load_settings
from certmgr.shared.protocol import parse_token
from tests.factories.fake_controller import FakeController
from tests.factories.pki import TestPki, make_pki


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture
async def controller(tmp_path: Path) -> AsyncIterator[FakeController]:
    fake = FakeController(tmp_path / "controller", poll_wait=2)
    await fake.start()
    yield fake
    await fake.stop()


@dataclass
class Site:
    """A ``files`` target living in a temporary directory."""

    root: Path
    www: Path
    config: Path

    @property
    def cert(self) -> Path:
        return self.www / "cert.pem"

    @property
    def key(self) -> Path:
        return self.www / "key.pem"

    def snapshot(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.www.iterdir()) if p.is_file()}


def write_config(
    root: Path, www: Path, *, extra: str = "", target_extra: str = "", name: str = "web01"
) -> Path:
    config = root / "agent.toml"
    config.write_text(
        f"""
state_dir = "{root / "state"}"
agent_name = "{name}"
max_backoff = 0.3
request_timeout = 3
inventory_interval = 30
{extra}

[targets.web]
type = "files"
allowed_paths = ["{www}"]
cert_path = "{www / "cert.pem"}"
key_path = "{www / "key.pem"}"
chain_path = "{www / "chain.pem"}"
{target_extra}
"""
    )
    return config


@pytest.fixture
def site(tmp_path: Path) -> Site:
    root = tmp_path / "agent"
    www = root / "www"
    www.mkdir(parents=True)
    return Site(root, www, write_config(root, www))


@pytest.fixture
def settings(site: Site) -> AgentSettings:
    return load_settings(site.config, env={})


@pytest.fixture
async def enrolled(settings: AgentSettings, controller: FakeController) -> AgentSettings:
    await enroll(settings, parse_token(controller.make_token()))
    return settings


@asynccontextmanager
async def running(settings: AgentSettings) -> AsyncIterator[tuple[Runner, asyncio.Task[int]]]:
    """A run loop in the background; stopped (and awaited) on exit."""
    runner = Runner(settings)
    task = asyncio.create_task(runner.run(handle_signals=False))
    try:
        yield runner, task
    finally:
        runner.stop()
        async with asyncio.timeout(10):
            await asyncio.wait({task})
    task.result()  # the loop's own error, when the test body passed
