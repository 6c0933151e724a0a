"""ControllerClient against real loopback servers: status mapping, limits, signing, pinning."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import nacl.public
import nacl.signing
import pytest
from aiohttp import web

from certmgr.agent.client import ControllerClient, RequestSigner, pinned_ssl_context
from certmgr.agent.identity import ControllerPin
from certmgr.shared import protocol as p
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import (
    InputError,
    InputTooLargeError,
    PermissionDeniedError,
    TemporaryUpstreamError,
    UpstreamRejectedError,
    ValidationError,
)
from certmgr.shared.secret import Secret
from tests.factories.fake_controller import FakeAgent, FakeController

KEY = nacl.signing.SigningKey.generate()
CONTROLLER = nacl.signing.SigningKey.generate()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve(
    aiohttp_server: Any,
) -> AsyncIterator[Callable[[Handler], Awaitable[ControllerClient]]]:
    sessions: list[aiohttp.ClientSession] = []

    async def start(handler: Handler) -> ControllerClient:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = await aiohttp_server(app)
        session = aiohttp.ClientSession()
        sessions.append(session)
        signer = RequestSigner("17", KEY, SystemClock())
        return ControllerClient(
            session,
            str(server.make_url("")),
            signer,
            pin=ControllerPin(CONTROLLER.verify_key),
            timeout=0.5,
        )

    yield start
    for session in sessions:
        await session.close()


def _signed(request: web.Request, body: bytes, status: int = 200) -> web.Response:
    """An answer signed by the pinned controller key over the request's nonce."""
    headers = {}
    if p.HEADER_NONCE in request.headers:
        headers = p.sign_answer(
            CONTROLLER,
            request.method,
            request.raw_path,
            request.headers[p.HEADER_NONCE],
            status,
            body,
        )
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def _answer(status: int, body: bytes = b"{}") -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return _signed(request, body, status)

    return handler


EMPTY_WORK = p.encode(p.WorkResponse())
ENROLL = p.EnrollRequest(
    token_secret=Secret("s" * 20),
    agent_name="a",
    hostname="h",
    agent_version="1",
    x25519_public_key=bytes(32),
    ed25519_public_key=bytes(32),
)


async def test_signed_long_poll_is_verifiable_by_the_controller(serve: Any) -> None:
    seen: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(
            p.verify_request(
                KEY.verify_key,
                request.headers,
                request.method,
                request.raw_path,
                await request.read(),
                dt.datetime.now(dt.UTC),
            )
        )
        assert request.raw_path == "/api/agent/v1/work?wait=0"
        return _signed(request, EMPTY_WORK)

    client = await serve(handler)
    assert await client.work(0) == p.WorkResponse()
    assert seen[0][0] == "17"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, PermissionDeniedError),
        (403, PermissionDeniedError),
        (500, TemporaryUpstreamError),
        (503, TemporaryUpstreamError),
        (429, TemporaryUpstreamError),
        (400, UpstreamRejectedError),
        (404, UpstreamRejectedError),
        (422, UpstreamRejectedError),
    ],
)
async def test_status_codes_map_to_the_error_tree(serve: Any, status: int, error: type) -> None:
    client = await serve(_answer(status, b'{"detail": "nope"}'))
    with pytest.raises(error, match=str(status)):
        await client.report(p.Report(deployment_id=1, sequence=1, ok=True))


@pytest.mark.parametrize(
    "body", [b"not json", b'{"packages": []}', b'{"packages":[],"keygen":[],"revoked":0}']
)
async def test_bad_answers_are_input_errors(serve: Any, body: bytes) -> None:
    client = await serve(_answer(200, body))
    with pytest.raises(InputError):
        await client.work(0)


async def test_oversized_answer_is_refused(serve: Any) -> None:
    client = await serve(_answer(200, b" " * (p.MAX_MESSAGE_SIZE + 10)))
    with pytest.raises(InputTooLargeError):
        await client.enroll(ENROLL)


async def test_a_silent_server_times_out(serve: Any) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    client = await serve(slow)
    with pytest.raises(TemporaryUpstreamError, match="did not answer"):
        await client.inventory(p.InventoryUpload(agent_version="1", targets=()))


async def test_nobody_listening_is_temporary() -> None:
    async with aiohttp.ClientSession() as session:
        client = ControllerClient(session, "http://127.0.0.1:9", None, timeout=2)
        with pytest.raises(TemporaryUpstreamError, match="cannot reach"):
            await client.enroll(ENROLL)
        with pytest.raises(PermissionDeniedError, match="not enrolled"):
            await client.work(0)


async def test_pinned_context_refuses_a_server_from_another_ca(tmp_path: Path) -> None:
    real, other = FakeController(tmp_path / "a"), FakeController(tmp_path / "b")
    await real.start()
    try:
        connector = aiohttp.TCPConnector(ssl=pinned_ssl_context(other.ca_pem))
        async with aiohttp.ClientSession(connector=connector) as session:
            client = ControllerClient(session, real.url, None)
            with pytest.raises(TemporaryUpstreamError, match="pinned CA"):
                await client.enroll(ENROLL)
    finally:
        await real.stop()
    with pytest.raises(ValidationError):
        pinned_ssl_context(b"not a certificate")


async def test_replayed_request_is_refused_by_the_fake_controller(tmp_path: Path) -> None:
    controller = FakeController(tmp_path)
    await controller.start()
    try:
        controller.agents["17"] = FakeAgent(
            "17", "a", nacl.public.PrivateKey.generate().public_key, KEY.verify_key
        )
        body = p.encode(p.InventoryUpload(agent_version="1", targets=()))
        headers = RequestSigner("17", KEY, SystemClock()).sign("POST", p.PATH_INVENTORY, body)
        connector = aiohttp.TCPConnector(ssl=pinned_ssl_context(controller.ca_pem))
        async with aiohttp.ClientSession(connector=connector) as session:
            statuses = []
            for _ in range(2):
                async with session.post(
                    controller.url + p.PATH_INVENTORY, data=body, headers=headers
                ) as response:
                    statuses.append(response.status)
        assert statuses == [200, 401]
    finally:
        await controller.stop()
