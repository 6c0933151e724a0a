"""Unauthenticated routes: health, sign-in page, the private CA's certificate and CRL."""

from __future__ import annotations

import asyncio

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.services.deployment.install_request import download_package
from certmgr.controller.web.console.definitions import attachment
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.readiness import readyz


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/pki/crl.der", crl_der)
    app.router.add_get("/pki/crl.pem", crl_pem)
    app.router.add_get(r"/pki/crl/{ca_id:\d{1,9}}.der", ca_crl_der)
    app.router.add_get(r"/pki/crl/{ca_id:\d{1,9}}.pem", ca_crl_pem)
    app.router.add_get("/pki/ca.pem", ca_pem)
    app.router.add_get("/dl/{token}", download_link)
    app.router.add_get("/favicon.ico", favicon)


async def favicon(request: web.Request) -> web.Response:
    """Browsers ask for /favicon.ico on pages without an icon link (the JSON API, files)."""
    raise web.HTTPMovedPermanently("/static/favicon.svg")


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability."""
    db = request.app[appkeys.DB]
    await db.check_ready()
    return web.json_response({"status": "ok"})


async def _file(request: web.Request, name: str, content_type: str) -> web.Response:
    path = request.app[appkeys.SETTINGS].ca_dir / name
    try:
        data = await asyncio.to_thread(path.read_bytes)  # a CRL grows with every revocation
    except FileNotFoundError:
        raise web.HTTPNotFound(text=f"{name} has not been generated yet") from None
    return web.Response(body=data, content_type=content_type)


async def crl_der(request: web.Request) -> web.Response:
    """The current CRL, DER."""
    return await _file(request, "crl.der", "application/pkix-crl")


async def crl_pem(request: web.Request) -> web.Response:
    """The current CRL, PEM."""
    return await _file(request, "crl.pem", "application/x-pem-file")


async def ca_crl_der(request: web.Request) -> web.Response:
    """One CA's CRL, DER (the URL its certificates carry)."""
    return await _file(
        request, f"crl-{int(request.match_info['ca_id'])}.der", "application/pkix-crl"
    )


async def ca_crl_pem(request: web.Request) -> web.Response:
    """One CA's CRL, PEM."""
    name = f"crl-{int(request.match_info['ca_id'])}.pem"
    return await _file(request, name, "application/x-pem-file")


async def ca_pem(request: web.Request) -> web.Response:
    """The active CA certificate, PEM."""
    return await _file(request, "ca.pem", "application/x-pem-file")


async def download_link(request: web.Request) -> web.StreamResponse:
    """A package behind a time-limited link from an install-request e-mail (audited)."""
    ctx = ctx_of(request)
    doc, data = await download_package(
        ctx.db, ctx.settings.documents_dir, request.match_info["token"], ctx.address, ctx.clock
    )
    return attachment(data, doc.filename, "application/zip")
