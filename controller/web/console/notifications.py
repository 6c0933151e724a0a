"""Notifications: the outbox (pending, sent, failed, with retry) and the webhooks."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from certmgr.controller.services.admin.settings import mail_configured
from certmgr.controller.services.notification.health import delivery_state
from certmgr.controller.services.notification.outbox import outbox_page, retry_now
from certmgr.controller.services.notification.webhooks import (
    EVENTS,
    add_webhook,
    check_webhook,
    display_url,
    list_webhooks,
    remove_webhook,
)
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import FormErrors, form_of, text
from certmgr.controller.web.render import redirect, render
from certmgr.controller.web.reveal import hold_and_redirect, take
from certmgr.shared.errors import CertmgrError, ValidationError

routes = web.RouteTableDef()
STATES = ("pending", "sent", "failed")


async def _page(
    request: web.Request,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    ctx = ctx_of(request)
    held = await take(request, "webhooks") if status == 200 else None
    secret = held["secret"] if held else None
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
        values=values or {},
        errors=errors or {},
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
    """Add a webhook; its secret is shown once. Every wrong field is named beside it at once."""
    ctx = ctx_of(request)
    form = await form_of(request)
    events = [e for e in EVENTS if form.get(f"event_{e}") in ("on", "1")]
    errors = FormErrors()
    url = errors.read(lambda: text(form, "url", required=True, max_len=1000, label="URL"), "")
    chosen = errors.read(lambda: text(form, "secret", max_len=200, label="Secret"), "") or None
    errors.read(lambda: check_webhook(url, events, chosen), None)
    if not errors:
        try:
            _, secret = await add_webhook(
                ctx.db, ctx.vault, ctx.require_actor(), url, ctx.clock, events=events, secret=chosen
            )
        except ValidationError as err:
            errors.add(err)
        else:
            raise await hold_and_redirect(
                request,
                "/notifications#webhooks",
                "webhooks",
                {"secret": secret.reveal()},
                "Webhook added.",
            )
    # the signing secret typed is never sent back
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "secret")}
    return await _page(request, values=values, errors=errors.by_field, status=422)


@routes.post("/notifications/webhooks/{id:\\d{1,12}}/delete")
async def delete(request: web.Request) -> web.Response:
    """Remove a webhook."""
    ctx = ctx_of(request)
    try:
        await remove_webhook(ctx.db, ctx.require_actor(), int(request.match_info["id"]), ctx.clock)
    except CertmgrError as err:
        raise redirect(request, "/notifications", str(err), "bad") from None
    raise redirect(request, "/notifications", "Webhook removed.")
