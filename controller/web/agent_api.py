"""The agent API ``/api/agent/v1``: enrolment, long-poll for work, reports, inventory, CSRs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, Deployment
from certmgr.controller.services.acquisition.requests import IssuerEnv, acquire, attach_agent_csr
from certmgr.controller.services.agents import agents as svc
from certmgr.controller.services.deployment.actions import record_check, run_check
from certmgr.controller.vault import MasterKey
from certmgr.controller.web.context import ctx_of
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock
from certmgr.shared.errors import CertmgrError

logger = logging.getLogger(__name__)
RECHECK = 15.0
MAX_ID = 2**31 - 1  # the largest id a PostgreSQL integer column holds


async def _body(request: web.Request, limit: int = p.MAX_MESSAGE_SIZE) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    data = await request.content.read(limit + 1)
    if len(data) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(data))
    return data


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


async def _signed(request: web.Request, body: bytes, status: int = 200) -> web.Response:
    """An answer to an authenticated agent, signed by the controller's key over its nonce."""
    ctx = ctx_of(request)
    headers = await svc.sign_agent_answer(
        ctx.db, ctx.vault, request.headers, request.method, request.raw_path, status, body
    )
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


async def _agent(
    request: web.Request, body: bytes, *, allow_pending: bool = False, allow_revoked: bool = False
) -> Agent:
    ctx = ctx_of(request)
    return await svc.authenticate(
        ctx.db,
        request.headers,
        request.method,
        request.raw_path,
        body,
        ctx.clock,
        allow_pending=allow_pending,
        allow_revoked=allow_revoked,
    )


async def enroll(request: web.Request) -> web.Response:
    """``POST /enroll``."""
    ctx = ctx_of(request)
    msg = p.decode(p.EnrollRequest, await _body(request))
    resp = await svc.enroll(
        ctx.db,
        ctx.vault,
        msg,
        ctx.clock,
        address=ctx.address,
        poll_wait=request.app[appkeys.SETTINGS].agent_poll_wait,
    )
    return _json(p.encode(resp))


async def work(request: web.Request) -> web.Response:
    """``GET /work?wait=N``: answer at once when there is work, else after about N seconds."""
    ctx = ctx_of(request)
    # A revoked agent still gets an answer here: ``revoked: true`` tells it to stop for good.
    # A pending one waits here (and only here) for its approval: it gets empty answers.
    agent = await _agent(request, await _body(request), allow_pending=True, allow_revoked=True)
    try:
        wait = max(0, min(p.MAX_POLL_WAIT, int(request.query.get("wait", "0"))))
    except ValueError:
        wait = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    wakeups = request.app[appkeys.AGENT_WAKEUPS]
    async with wakeups.waiter(str(agent.id)) as ev:
        while True:
            resp = await svc.pending_work(ctx.db, agent, ctx.clock)
            left = deadline - loop.time()
            if resp.packages or resp.keygen or resp.revoked or left <= 0:
                return await _signed(request, p.encode(resp))
            ev.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, RECHECK)):
                    await ev.wait()


async def report(request: web.Request) -> web.Response:
    """``POST /report``: an install result; a successful install is then checked and confirmed.

    The agent gets its answer once the report is stored; the deploy check (which may probe for
    several seconds while a reloaded server drains) runs in the background.
    """
    ctx = ctx_of(request)
    body = await _body(request)
    agent = await _agent(request, body)
    msg = p.decode(p.Report, body)
    dep = await svc.record_report(ctx.db, agent, msg, ctx.clock)
    if msg.inventory:
        await svc.check_inventory(ctx.db, agent.id, msg.inventory, ctx.clock)
    if dep is not None and msg.ok and dep.status == "installed":
        db, vault, clock = ctx.db, ctx.vault, ctx.clock
        request.app[appkeys.BACKGROUND].spawn(
            f"deploy check of deployment {dep.id}",
            lambda: _confirm(db, vault, clock, agent, dep),
        )
    return await _signed(request, b"{}")


async def _confirm(
    db: Database, vault: MasterKey, clock: Clock, agent: Agent, dep: Deployment
) -> None:
    actor = svc.agent_actor(agent)
    try:
        outcome = await run_check(db, dep, clock, timeout=10.0, settle=5.0)
    except CertmgrError as err:
        logger.info("no deploy check for deployment %s: %s", dep.id, err)
        return
    await record_check(db, actor, dep.id, outcome, clock, source="deploy-check", confirm=True)
    if outcome.ok:
        from certmgr.controller.services.notification.install_notices import (
            send_install_notification,
        )

        await send_install_notification(
            db,
            vault,
            actor,
            dep.id,
            clock,
            how=f"by the certmgr agent on {agent.hostname or agent.name}",
        )


async def inventory(request: web.Request) -> web.Response:
    """``POST /inventory``."""
    ctx = ctx_of(request)
    body = await _body(request)
    agent = await _agent(request, body)
    await svc.record_inventory(ctx.db, agent, p.decode(p.InventoryUpload, body), ctx.clock)
    return await _signed(request, b"{}")


async def csr(request: web.Request) -> web.Response:
    """``POST /csr``: the agent made a key for a request; acquisition goes on from here."""
    ctx = ctx_of(request)
    body = await _body(request)
    agent = await _agent(request, body)
    msg = p.decode(p.CsrUpload, body)
    if not msg.request_id.isdigit() or int(msg.request_id) > MAX_ID:
        raise web.HTTPUnprocessableEntity(text="request_id must be a request number")
    request_id = int(msg.request_id)
    actor = svc.agent_actor(agent)
    if not msg.csr_pem:
        await svc.fail_keygen(ctx.db, agent, request_id, msg.error, ctx.clock)
    else:
        req = await attach_agent_csr(
            ctx.db,
            agent.id,
            actor,
            request_id,
            msg.csr_pem.encode(),
            ctx.clock,
            public_key_sha256=msg.public_key_sha256,
        )
        if req.issuer_kind in ("private-ca", "acme"):
            s = request.app[appkeys.SETTINGS]
            await acquire(
                ctx.db,
                ctx.vault,
                actor,
                req.id,
                ctx.clock,
                IssuerEnv(s.ca_dir, s.effective_crl_url),
            )
    return await _signed(request, b"{}")


def setup(app: web.Application) -> None:
    """Register the agent API."""
    app.router.add_post(p.PATH_ENROLL, enroll)
    app.router.add_get(p.PATH_WORK, work)
    app.router.add_post(p.PATH_REPORT, report)
    app.router.add_post(p.PATH_INVENTORY, inventory)
    app.router.add_post(p.PATH_CSR, csr)
