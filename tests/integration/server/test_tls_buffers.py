"""TLS connections share their thread's receive buffer (controller/tls_buffers.py), over real TLS."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from certmgr.controller.tls_buffers import share_tls_read_buffers
from tests.factories.pki import make_pki

CLIENTS = 24
SIZE = 200 * 1024  # several receive buffers' worth each, interleaved across connections


def _contexts(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    files = make_pki().write(tmp)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(files["fullchainA.pem"], files["leafA.key"])
    client = ssl.create_default_context(cafile=str(files["root.pem"]))
    return server, client


async def test_connections_share_one_buffer_and_keep_their_own_bytes(tmp_path: Path) -> None:
    share_tls_read_buffers()
    server_ctx, client_ctx = _contexts(tmp_path)
    buffers: set[int] = set()

    def note_buffer(writer: asyncio.StreamWriter) -> None:
        protocol = getattr(writer.transport, "_ssl_protocol")  # noqa: B009 - asyncio's own
        buffers.add(id(protocol.get_buffer(-1).obj))

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        note_buffer(writer)
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]

    async def client(n: int) -> bytes:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
        note_buffer(writer)
        payload = bytes([n]) * SIZE

        async def send() -> None:
            for i in range(0, SIZE, 7000):
                writer.write(payload[i : i + 7000])
                await writer.drain()
                await asyncio.sleep(0)

        sender = asyncio.create_task(send())
        got = await reader.readexactly(SIZE)
        await sender
        writer.close()
        return got

    async with server:
        results = await asyncio.wait_for(asyncio.gather(*(client(n) for n in range(CLIENTS))), 60)
    assert len(buffers) == 1  # 48 connections (both ends), one buffer
    for n, got in enumerate(results):
        assert got == bytes([n]) * SIZE
