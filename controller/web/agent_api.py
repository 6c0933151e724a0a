"""The agent API ``/api/agent/v1``: enrolment, long-poll for work, reports, inventory, CSRs, discovery."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.services.acquisition.requests import IssuerEnv
from certmgr.controller.services.agents import enrolment as svc
from certmgr.controller.services.agents import inventory as inventory_svc
from certmgr.controller.services.agents import key_on_agent
from certmgr.controller.services.agents import work as work_svc
from certmgr.controller.services.agents.identity import answer_identity_at_hand
from certmgr.controller.services.monitoring.discovery_agents import record_agent_discovery
from certmgr.controller.web.context import ctx_of
from certmgr.shared import protocol as p

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


def _request(request: web.Request, body: bytes) -> tuple[Any, ...]:
    """What checking a signed agent request needs: database, headers, method, path, body, clock."""
    ctx = ctx_of(request)
    return (ctx.db, request.headers, request.method, request.raw_path, body, ctx.clock)


async def _agent(
    request: web.Request, body: bytes, *, allow_pending: bool = False, allow_revoked: bool = False
) -> svc.AuthenticatedAgent:
    """The signing agent, its request's nonce recorded on its own."""
    return await svc.authenticate(
        *_request(request, body), allow_pending=allow_pending, allow_revoked=allow_revoked
    )


async def _verified(
    request: web.Request, body: bytes, *, allow_pending: bool = False, allow_revoked: bool = False
) -> svc.SignedRequest:
    """The signing agent; the caller records the nonce in the transaction that acts on the request."""
    return await svc.verify_agent(
        *_request(request, body), allow_pending=allow_pending, allow_revoked=allow_revoked
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
    body = await _body(request)
    wakeups = request.app[appkeys.AGENT_WAKEUPS]
    async with wakeups.gate:
        signed = await _verified(request, body, allow_pending=True, allow_revoked=True)
    agent = signed.agent
    seen: svc.SignedRequest | None = signed  # its nonce is recorded by the first read of work
    try:
        wait = max(0, min(p.MAX_POLL_WAIT, int(request.query.get("wait", "0"))))
    except ValueError:
        wait = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    woken = False
    async with wakeups.waiter(str(agent.id)) as ev:
        while True:
            ev.clear()  # before the query: a wake-up that comes while it runs is kept
            if woken:  # taken with the other woken polls' work, in one transaction
                resp = await request.app[appkeys.AGENT_PICKUPS].take(agent)
            else:
                async with wakeups.gate:
                    resp = await work_svc.pending_work(ctx.db, agent, ctx.clock, seen=seen)
            seen = None
            left = deadline - loop.time()
            if resp.packages or resp.keygen or resp.revoked or left <= 0 or wakeups.draining:
                break
            try:
                async with asyncio.timeout(left):
                    await ev.wait()
                woken = True  # work was queued for it: read it where it is marked delivered
            except TimeoutError:
                # Nothing woke it: the empty answer stands (no query per idle poll's end). A lost
                # hint (a replica's LISTEN connection down) costs one poll: the next one reads.
                break
    if answer_identity_at_hand(ctx.db, ctx.vault):
        # signed without the database: not queued again behind every request at the gate
        answer = await _signed(request, p.encode(resp))
    else:
        async with wakeups.gate:
            answer = await _signed(request, p.encode(resp))
    if wakeups.draining:
        answer.force_close()  # the agent's next poll opens a new connection elsewhere
    return answer


async def report(request: web.Request) -> web.Response:
    """``POST /report``: an install result; a successful install is then checked and confirmed.

    The agent gets its answer once the report is stored; the deploy check runs in the background.
    """
    ctx = ctx_of(request)
    body = await _body(request)
    async with request.app[appkeys.AGENT_WAKEUPS].gate:
        signed = await _verified(request, body)
        msg = p.decode(p.Report, body)
        await inventory_svc.accept_report(
            ctx.db, signed.agent, msg, ctx.clock, request.app[appkeys.AFTER_INSTALL], seen=signed
        )
        return await _signed(request, b"{}")


async def inventory(request: web.Request) -> web.Response:
    """``POST /inventory``."""
    ctx = ctx_of(request)
    body = await _body(request)
    async with request.app[appkeys.AGENT_WAKEUPS].gate:  # a fleet's uploads queue, not the pool
        agent = await _agent(request, body)
        await inventory_svc.record_inventory(
            ctx.db, agent, p.decode(p.InventoryUpload, body), ctx.clock
        )
        return await _signed(request, b"{}")


async def csr(request: web.Request) -> web.Response:
    """``POST /csr``: the agent made a key for a request; acquisition goes on from here."""
    ctx = ctx_of(request)
    body = await _body(request)
    agent = await _agent(request, body)
    msg = p.decode(p.CsrUpload, body)
    if not msg.request_id.isdigit() or int(msg.request_id) > MAX_ID:
        raise web.HTTPUnprocessableEntity(text="request_id must be a request number")
    settings = request.app[appkeys.SETTINGS]
    await key_on_agent.accept_agent_csr(
        ctx.db,
        ctx.vault,
        agent,
        int(msg.request_id),
        msg,
        ctx.clock,
        IssuerEnv(settings.ca_dir, settings.effective_crl_url),
    )
    return await _signed(request, b"{}")


async def discovery(request: web.Request) -> web.Response:
    """``POST /discovery``: the TLS listeners an agent found on its own host."""
    ctx = ctx_of(request)
    body = await _body(request, p.MAX_DISCOVERY_SIZE)
    async with request.app[appkeys.AGENT_WAKEUPS].gate:  # a fleet's uploads queue, not the pool
        agent = await _agent(request, body)
        upload = p.decode(p.DiscoveryUpload, body, max_size=p.MAX_DISCOVERY_SIZE)
        await record_agent_discovery(ctx.db, ctx.clock, agent, upload)
        return await _signed(request, b"{}")


def setup(app: web.Application) -> None:
    """Register the agent API."""
    app.router.add_post(p.PATH_ENROLL, enroll)
    app.router.add_get(p.PATH_WORK, work)
    app.router.add_post(p.PATH_REPORT, report)
    app.router.add_post(p.PATH_INVENTORY, inventory)
    app.router.add_post(p.PATH_CSR, csr)
    app.router.add_post(p.PATH_DISCOVERY, discovery)
