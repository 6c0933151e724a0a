"""Notifications: the outbox (pending, sent, failed, with retry) and the webhooks."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller.services.admin.settings import mail_configured
from certmgr.controller.services.notification.health import delivery_state
from certmgr.controller.services.notification.outbox import outbox_page, retry_now
from certmgr.controller.services.notification.webhooks import (
    EVENTS,
    add_webhook,
    display_url,
    list_webhooks,
    remove_webhook,
)
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.errors import status_for
from certmgr.controller.web.forms import form_of, text
from certmgr.controller.web.render import redirect, render
from certmgr.controller.web.reveal import hold_and_redirect, take
from certmgr.shared.errors import CertmgrError

routes = web.RouteTableDef()
STATES = ("pending", "sent", "failed")


async def _page(
    request: web.Request, *, secret: str | None = None, error: str | None = None, status: int = 200
) -> web.Response:
    ctx = ctx_of(request)
    held = await take(request, "webhooks") if status == 200 else None
    secret = held["secret"] if held else secret
    state = request.query.get("state", "")
    messages, counts = await outbox_page(ctx.db, state=state if state in STATES else "")
    hooks = await list_webhooks(ctx.db)
    ready = await mail_configured(ctx.db)
    delivery = {
        m.id: delivery_state(m.channel, m.state, m.attempts, m.last_error, mail_ready=ready)
        for m in messages
    }
    return render(
        request,
        "console/notifications.html",
        title="Notifications",
        messages=messages,
        delivery=delivery,
        counts=counts,
        state=state,
        states=STATES,
        webhooks=[(h, display_url(h.url)) for h in hooks],
        events=EVENTS,
        secret=secret,
        error=error,
        now=ctx.clock.now(),
        status=status,
    )


@routes.get("/notifications")
async def notifications(request: web.Request) -> web.Response:
    """Outbox and webhooks."""
    return await _page(request)


@routes.post("/notifications/outbox/{id:\\d{1,12}}/retry")
async def retry(request: web.Request) -> web.Response:
    """Try an undelivered message again at the next outbox run."""
    ctx = ctx_of(request)
    try:
        await retry_now(ctx.db, ctx.require_actor(), int(request.match_info["id"]), ctx.clock)
    except CertmgrError as err:
        raise redirect(request, "/notifications", str(err), "bad") from None
    raise redirect(request, "/notifications", "The message will be sent at the next outbox run.")


@routes.post("/notifications/webhooks")
async def add(request: web.Request) -> web.Response:
    """Add a webhook; its secret is shown once."""
    ctx = ctx_of(request)
    form = await form_of(request)
    events = [e for e in EVENTS if form.get(f"event_{e}") in ("on", "1")]
    try:
        _, secret = await add_webhook(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            text(form, "url", required=True, max_len=1000, label="URL"),
            ctx.clock,
            events=events,
            secret=text(form, "secret", max_len=200, label="Secret") or None,
        )
    except CertmgrError as err:
        return await _page(request, error=str(err), status=status_for(err))
    raise await hold_and_redirect(
        request,
        "/notifications#webhooks",
        "webhooks",
        {"secret": secret.reveal()},
        "Webhook added.",
    )


@routes.post("/notifications/webhooks/{id:\\d{1,12}}/delete")
async def delete(request: web.Request) -> web.Response:
    """Remove a webhook."""
    ctx = ctx_of(request)
    try:
        await remove_webhook(ctx.db, ctx.require_actor(), int(request.match_info["id"]), ctx.clock)
    except CertmgrError as err:
        raise redirect(request, "/notifications", str(err), "bad") from None
    raise redirect(request, "/notifications", "Webhook removed.")
