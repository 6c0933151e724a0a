"""Controller discovery by zeroconf on loopback (RECIPES: interfaces=["127.0.0.1"], IPv4 only)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from certmgr.agent.enroll import discover_controller, enroll
from certmgr.agent.settings import AgentSettings
from certmgr.shared.errors import NotFoundError
from certmgr.shared.protocol import (
    AGENT_API_PREFIX,
    ZEROCONF_SERVICE_TYPE,
    ZEROCONF_TXT_CA_SHA256,
    ZEROCONF_TXT_PATH,
    parse_token,
)
from tests.factories.fake_controller import FakeController

LOOPBACK = ["127.0.0.1"]


@asynccontextmanager
async def advertised(*services: tuple[int, str]) -> AsyncIterator[None]:
    """Advertise (port, CA fingerprint) pairs as certmgr controllers on loopback."""
    azc = AsyncZeroconf(interfaces=LOOPBACK, ip_version=IPVersion.V4Only)
    infos = [
        ServiceInfo(
            ZEROCONF_SERVICE_TYPE,
            f"certmgr-test-{uuid.uuid4().hex[:8]}.{ZEROCONF_SERVICE_TYPE}",
            port=port,
            properties={ZEROCONF_TXT_PATH: AGENT_API_PREFIX, ZEROCONF_TXT_CA_SHA256: fp},
            addresses=[socket.inet_aton("127.0.0.1")],
            server=f"certmgr-test-{uuid.uuid4().hex[:8]}.local.",
        )
        for port, fp in services
    ]
    try:
        for info in infos:
            # the announcements go on in zeroconf's own tasks; browsing queries find us anyway
            await azc.async_register_service(info, cooperating_responders=True)
        yield
    finally:
        for info in infos:
            await azc.async_unregister_service(info)
        await azc.async_close()


async def test_enrol_finds_the_controller_whose_ca_matches_the_token(
    settings: AgentSettings, controller: FakeController
) -> None:
    token = parse_token(controller.make_token(url=""))
    async with advertised((1, "cd" * 32), (controller.port, controller.ca_sha256)):
        started = time.monotonic()
        done = await enroll(settings, token, interfaces=LOOPBACK, discovery_timeout=10)
    assert done.controller_url == controller.url
    assert time.monotonic() - started < 5
    assert controller.agent(done.agent_id).name == "web01"


async def test_no_matching_controller_is_not_found() -> None:
    async with advertised((1, "cd" * 32)):
        with pytest.raises(NotFoundError, match="other certmgr service"):
            await discover_controller("ab" * 32, interfaces=LOOPBACK, timeout=1.5)
