"""The console's static files (style sheet, script, icon), served from memory; file downloads.

The static files are read once at start-up, in a thread, and served with a strong ETag. Large
downloads are streamed in chunks read in a thread. Neither uses ``sendfile``: over TLS asyncio
can only emulate it, and in Python 3.11 its emulation ends in a traceback
(``'NoneType' object has no attribute '_set_app_protocol'``) whenever a browser drops the
connection in the middle of a file, which browsers do on every quick navigation.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from aiohttp import web

TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
CHUNK = 256 * 1024
MAX_AGE = 300  # seconds a browser may reuse a file without asking (then it asks with the ETag)


@dataclass(frozen=True)
class StaticFile:
    """One file, ready to send."""

    body: bytes
    content_type: str
    etag: str


def read_static(root: Traversable) -> dict[str, StaticFile]:
    """The files of ``root`` whose type the console serves, by name (blocking: use a thread)."""
    out = {}
    for entry in root.iterdir():
        kind = TYPES.get(Path(entry.name).suffix)
        if kind is not None and entry.is_file():
            body = entry.read_bytes()
            out[entry.name] = StaticFile(body, kind, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return out


def setup(app: web.Application, root: Traversable | None = None) -> None:
    """Serve ``/static/<name>`` from ``root`` (default: the console's own static folder)."""
    folder = root if root is not None else files("certmgr.webui").joinpath("static")
    loaded: dict[str, StaticFile] = {}

    async def load(_: web.Application) -> None:
        loaded.update(await asyncio.to_thread(read_static, folder))

    async def serve(request: web.Request) -> web.Response:
        return static_response(request, loaded)

    app.on_startup.append(load)
    app.router.add_get("/static/{name}", serve, name="static")


def static_response(request: web.Request, loaded: Mapping[str, StaticFile]) -> web.Response:
    """The named file, or 304 when the browser's copy is current, or 404."""
    found = loaded.get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound(text="no such file")
    headers = {"ETag": found.etag, "Cache-Control": f"max-age={MAX_AGE}"}
    if found.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if found.content_type.startswith("text/") else None
    return web.Response(
        body=found.body, content_type=found.content_type, charset=charset, headers=headers
    )


async def stream_file(
    request: web.Request, path: Path, headers: Mapping[str, str]
) -> web.StreamResponse:
    """Send the file at ``path`` in chunks read in a thread (a dropped connection just ends it).

    Raises:
        web.HTTPNotFound: The file is gone.
    """
    try:
        handle = await asyncio.to_thread(path.open, "rb")
    except FileNotFoundError:
        raise web.HTTPNotFound(text="the file is gone") from None
    try:
        size = await asyncio.to_thread(lambda: Path(path).stat().st_size)
        resp = web.StreamResponse(headers=headers)
        resp.content_length = size
        await resp.prepare(request)
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            await resp.write(chunk)
        await resp.write_eof()
        return resp
    finally:
        await asyncio.to_thread(handle.close)
