"""The notification outbox: e-mails and webhook calls that wait until delivered, retried with backoff.

Alerts are queued in the same transaction as the change that causes them and delivered by the
outbox job (every minute). A broken SMTP server or webhook endpoint leaves the message pending with
its error and next attempt time, visible on the Notifications screen, until it gets through or
gives up after :data:`MAX_ATTEMPTS`. Every e-mail is in Sent Emails from the moment it is queued
(result ``pending``, then ``sent`` or ``failed``, with the number of attempts).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller import __version__
from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import OutboxMessage, SentEmail, Webhook
from certmgr.controller.domain.actors import SYSTEM, Actor
from certmgr.controller.services.admin.settings import MailSettings, load_mail_settings
from certmgr.controller.services.audit import audit
from certmgr.controller.services.notification.mail import OutgoingMail, deliver
from certmgr.controller.services.notification.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    display_url,
    sign,
    unseal_secret,
)
from certmgr.controller.vault import MasterKey, UnsealError
from certmgr.shared.clock import Clock
from certmgr.shared.errors import NotFoundError

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
WEBHOOK_TIMEOUT = 10.0
PARALLEL = 10


def backoff(attempts: int) -> dt.timedelta:
    """Wait after ``attempts`` failures: 1 min, 2, 4 ... capped at 1 h (20 attempts ~ 15 h)."""
    return min(dt.timedelta(minutes=2 ** max(0, min(attempts, 12) - 1)), dt.timedelta(hours=1))


async def enqueue_email(
    s: AsyncSession,
    to: Sequence[str],
    subject: str,
    body: str,
    kind: str,
    now: dt.datetime,
    *,
    entity_type: str = "",
    entity_id: str = "",
) -> OutboxMessage:
    """Queue an e-mail (and its Sent Emails row, result ``pending``) in the caller's transaction."""
    sent = SentEmail(
        at=now,
        kind=kind,
        to=", ".join(to)[:1000],
        subject=subject[:500],
        body=body,
        result="pending",
        error="",
        entity_type=entity_type,
        entity_id=entity_id,
        attempts=0,
    )
    s.add(sent)
    await s.flush()
    msg = OutboxMessage(
        channel="email",
        target=", ".join(to)[:1000],
        subject=subject[:500],
        body=body,
        kind=kind,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        sent_email_id=sent.id,
    )
    s.add(msg)
    return msg


async def enqueue_webhooks(
    s: AsyncSession, event: str, data: dict[str, Any], now: dt.datetime
) -> int:
    """Queue ``event`` for every enabled webhook that wants it; returns how many were queued."""
    hooks = (await s.execute(select(Webhook).where(Webhook.enabled.is_(True)))).scalars()
    n = 0
    for hook in hooks:
        if hook.events and event not in hook.events:
            continue
        s.add(
            OutboxMessage(
                channel="webhook",
                target=display_url(hook.url),
                subject=event,
                body=json.dumps({"event": event, "data": data}, default=str),
                kind=event,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                webhook_id=hook.id,
            )
        )
        n += 1
    return n


@dataclass(frozen=True)
class _Attempt:
    message_id: int
    error: str | None


async def _post(
    http: aiohttp.ClientSession,
    msg: OutboxMessage,
    hook: Webhook | None,
    secret: bytes | None,
    now: dt.datetime,
) -> str | None:
    if hook is None or secret is None:
        return "the webhook was removed" if hook is None else "the webhook secret cannot be opened"
    stored = json.loads(msg.body)
    payload = {
        "id": msg.id,
        "event": stored.get("event", msg.kind),
        "attempt": msg.attempts + 1,
        "sent_at": now.isoformat(),
        "data": stored.get("data", {}),
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"certmgr/{__version__}",
        "X-Certmgr-Event": str(payload["event"]),
        "X-Certmgr-Delivery": str(msg.id),
        TIMESTAMP_HEADER: str(int(now.timestamp())),
        SIGNATURE_HEADER: sign(secret, body),
    }
    where = display_url(hook.url)
    try:
        async with (
            asyncio.timeout(WEBHOOK_TIMEOUT),
            http.post(hook.url, data=body, headers=headers, allow_redirects=False) as resp,
        ):
            await resp.content.read(4096)
            if 200 <= resp.status < 300:
                return None
            return f"{where} answered HTTP {resp.status}"
    except TimeoutError:
        return f"{where} did not answer within {WEBHOOK_TIMEOUT:g} s"
    except aiohttp.ClientError as err:
        return f"cannot deliver to {where}: {err.__class__.__name__}"
    except OSError as err:
        return f"cannot reach {where}: {err.strerror or err.__class__.__name__}"


async def _attempt(
    msg: OutboxMessage,
    mail: MailSettings | None,
    http: aiohttp.ClientSession | None,
    hooks: dict[int, tuple[Webhook, bytes | None]],
    now: dt.datetime,
) -> _Attempt:
    if msg.channel == "email":
        assert mail is not None  # noqa: S101 - loaded when any e-mail is due
        to = tuple(a.strip() for a in msg.target.split(",") if a.strip())
        error = await deliver(mail, OutgoingMail(to, msg.subject, msg.body, msg.kind))
        return _Attempt(msg.id, error)
    assert http is not None  # noqa: S101 - opened when any webhook is due
    hook, secret = hooks.get(msg.webhook_id or -1, (None, None))
    return _Attempt(msg.id, await _post(http, msg, hook, secret, now))


async def _record(
    db: Database, results: list[_Attempt], clock: Clock, actor: Actor
) -> dict[str, int]:
    counts = {"sent": 0, "retry": 0, "failed": 0}
    now = clock.now()
    async with db.transaction() as s:
        for res in results:
            msg = await s.get(OutboxMessage, res.message_id)
            if msg is None or msg.state != "pending":
                continue
            msg.attempts += 1
            msg.last_error = (res.error or "")[:2000]
            sent = await s.get(SentEmail, msg.sent_email_id) if msg.sent_email_id else None
            if res.error is None:
                msg.state = "sent"
                counts["sent"] += 1
                if msg.attempts > 1:
                    logger.info(
                        "outbox message %s delivered after %s attempts", msg.id, msg.attempts
                    )
            elif msg.attempts >= MAX_ATTEMPTS:
                msg.state = "failed"
                counts["failed"] += 1
                logger.warning("outbox message %s given up: %s", msg.id, res.error)
            else:
                msg.next_attempt_at = now + backoff(msg.attempts)
                counts["retry"] += 1
                if msg.attempts == 1:
                    logger.warning(
                        "outbox message %s not delivered, will retry: %s", msg.id, res.error
                    )
            if sent is not None:
                sent.attempts = msg.attempts
                sent.error = msg.last_error
                if msg.state != "pending":
                    sent.result, sent.at = msg.state, now
            if msg.state != "pending":
                action = "mail.send" if msg.channel == "email" else "webhook.deliver"
                audit(
                    s,
                    actor,
                    action,
                    "email" if sent is not None else "outbox",
                    sent.id if sent is not None else msg.id,
                    {"kind": msg.kind, "to": msg.target, "result": msg.state},
                    clock=clock,
                )
    return counts


async def due_message_ids(db: Database, clock: Clock, *, limit: int = 5000) -> list[int]:
    """Ids of the pending messages whose time has come, oldest first."""
    async with db.reader() as s:
        return list(
            (
                await s.execute(
                    select(OutboxMessage.id)
                    .where(
                        OutboxMessage.state == "pending",
                        OutboxMessage.next_attempt_at <= clock.now(),
                    )
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            ).scalars()
        )


async def deliver_due(
    db: Database,
    vault: MasterKey,
    clock: Clock,
    *,
    limit: int = 200,
    actor: Actor = SYSTEM,
    message_ids: Collection[int] | None = None,
) -> dict[str, int]:
    """Try every pending message whose time has come; returns counts (sent, retry, failed).

    ``message_ids``: only those (a batch shared between controllers), and only while still
    pending and due, so a message a controller delivered before it died is not sent again.
    Never raises for SMTP or HTTP trouble: each failure is recorded on its message.
    """
    now = clock.now()
    stmt = select(OutboxMessage).where(
        OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now
    )
    if message_ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(list(message_ids)))
    async with db.reader() as s:
        due = list((await s.execute(stmt.order_by(OutboxMessage.id).limit(limit))).scalars())
        hook_ids = {m.webhook_id for m in due if m.channel == "webhook" and m.webhook_id}
        rows = (
            (await s.execute(select(Webhook).where(Webhook.id.in_(hook_ids)))).scalars()
            if hook_ids
            else ()
        )
        hooks: dict[int, tuple[Webhook, bytes | None]] = {}
        for hook in rows:
            try:
                hooks[hook.id] = (hook, unseal_secret(vault, hook))
            except UnsealError:
                hooks[hook.id] = (hook, None)
    if not due:
        return {"sent": 0, "retry": 0, "failed": 0}
    mail = await load_mail_settings(db, vault) if any(m.channel == "email" for m in due) else None
    gate = asyncio.Semaphore(PARALLEL)

    async def one(msg: OutboxMessage, http: aiohttp.ClientSession | None) -> _Attempt:
        async with gate:
            return await _attempt(msg, mail, http, hooks, now)

    async def run_all(http: aiohttp.ClientSession | None) -> list[_Attempt]:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(one(m, http)) for m in due]
        return [t.result() for t in tasks]

    if any(m.channel == "webhook" for m in due):
        async with aiohttp.ClientSession() as http:
            results = await run_all(http)
    else:
        results = await run_all(None)
    return await _record(db, results, clock, actor)


async def retry_now(db: Database, actor: Actor, message_id: int, clock: Clock) -> OutboxMessage:
    """Make a pending or failed message due now (a failed one gets another round of attempts).

    Raises:
        NotFoundError: No such message, or it was already delivered.
    """
    async with db.transaction() as s:
        msg = await s.get(OutboxMessage, message_id)
        if msg is None or msg.state == "sent":
            raise NotFoundError(f"no undelivered message {message_id}")
        if msg.state == "failed":
            msg.attempts = 0
            sent = await s.get(SentEmail, msg.sent_email_id) if msg.sent_email_id else None
            if sent is not None:
                sent.result = "pending"
        msg.state, msg.next_attempt_at = "pending", clock.now()
        audit(s, actor, "outbox.retry", "outbox", msg.id, {"kind": msg.kind}, clock=clock)
    return msg


async def outbox_page(
    db: Database, *, state: str = "", limit: int = 100
) -> tuple[list[OutboxMessage], dict[str, int]]:
    """Newest messages (optionally of one state) and the count per state."""
    async with db.reader() as s:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if state:
            stmt = stmt.where(OutboxMessage.state == state)
        rows = list((await s.execute(stmt)).scalars())
        counts = dict(
            (
                await s.execute(
                    select(OutboxMessage.state, func.count(OutboxMessage.id)).group_by(
                        OutboxMessage.state
                    )
                )
            ).all()
        )
    return rows, {str(k): int(v) for k, v in counts.items()}


def message_json(msg: OutboxMessage) -> dict[str, Any]:
    """API view of an outbox message (the body of an e-mail is in Sent Emails)."""
    return {
        "id": msg.id,
        "channel": msg.channel,
        "target": msg.target,
        "subject": msg.subject,
        "kind": msg.kind,
        "state": msg.state,
        "attempts": msg.attempts,
        "next_attempt_at": msg.next_attempt_at.isoformat() if msg.state == "pending" else None,
        "last_error": msg.last_error,
        "created_at": msg.created_at.isoformat(),
        "sent_email_id": msg.sent_email_id,
    }
