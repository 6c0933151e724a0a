"""Webhooks: generic JSON POSTs for chat and incident tools, signed with HMAC-SHA256.

Every delivery is a JSON object ``{"id", "event", "attempt", "sent_at", "data"}``. The signature is
``X-Certmgr-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes under the webhook's
secret; the body's ``sent_at`` (also in ``X-Certmgr-Timestamp``, Unix seconds) is covered by it,
so a receiver can refuse stale or replayed deliveries. ``X-Certmgr-Event`` names the event and
``X-Certmgr-Delivery`` the outbox message (stable across retries). Secrets are sealed with the
master key (purpose ``webhook-secret``) and shown once, when the webhook is added.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Webhook
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.admin.settings import check_url
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import NotFoundError, ValidationError, raise_collected
from certmgr.shared.secret import Secret

SECRET_PURPOSE = "webhook-secret"  # noqa: S105 - a label
EVENTS = ("finding.opened", "finding.cleared", "digest", "ping")
SIGNATURE_HEADER = "X-Certmgr-Signature"
TIMESTAMP_HEADER = "X-Certmgr-Timestamp"
MAX_WEBHOOKS = 50


def sign(secret: bytes, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(secret: bytes, body: bytes, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, body), header.strip())


def display_url(url: str) -> str:
    """The URL without its path and query (chat webhook URLs carry their secret in the path)."""
    parts = urlsplit(url)
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{rest}"


def _events(events: Sequence[str]) -> list[str]:
    chosen = sorted({e.strip() for e in events if e.strip()})
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise ValidationError(
            f"unknown event {unknown[0]!r}; choose from {', '.join(EVENTS)}", field="events"
        )
    return chosen


def check_webhook(
    url: str, events: Sequence[str] = (), secret: str | None = None
) -> tuple[str, list[str]]:
    """The checked URL and events of a webhook to add; every wrong field is named at once.

    Raises:
        ValidationError: A bad URL, event or secret (:class:`FieldsError` when several are).
    """
    problems: list[ValidationError] = []
    clean = ""
    chosen: list[str] = []
    try:
        clean = check_url(url, "url")
    except ValidationError as err:
        problems.append(err)
    else:
        if not clean:
            problems.append(ValidationError("the webhook URL is required", field="url"))
        elif len(clean) > 1000:
            problems.append(ValidationError("the webhook URL is too long", field="url"))
    try:
        chosen = _events(events)
    except ValidationError as err:
        problems.append(err)
    if secret is not None and not 16 <= len(secret) <= 200:
        problems.append(
            ValidationError("a chosen secret must have 16 to 200 characters", field="secret")
        )
    raise_collected(problems)
    return clean, chosen


async def add_webhook(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    url: str,
    clock: Clock,
    *,
    events: Sequence[str] = (),
    secret: str | None = None,
) -> tuple[Webhook, Secret[str]]:
    """Add a webhook; returns it and its signing secret (generated unless given; shown once).

    Args:
        db: The database.
        vault: Seals the secret.
        actor: An admin.
        url: ``https://`` (or ``http://``) endpoint without user name or password.
        clock: Time source.
        events: Events to send (empty: all of :data:`EVENTS`).
        secret: A chosen secret (at least 16 characters); default: 32 random bytes.

    Raises:
        ValidationError: Bad URL, event or secret, or too many webhooks.
        PermissionDeniedError: Not an admin.
    """
    actor.require_admin("adding webhooks")
    clean, chosen = check_webhook(url, events, secret)
    text = secret or secrets.token_urlsafe(32)
    async with db.transaction() as s:
        count = len((await s.execute(select(Webhook.id))).all())
        if count >= MAX_WEBHOOKS:
            raise ValidationError(f"at most {MAX_WEBHOOKS} webhooks", field="url")
        hook = Webhook(
            url=clean,
            sealed_secret=vault.seal(text.encode(), SECRET_PURPOSE),
            events=chosen,
            enabled=True,
            created_at=clock.now(),
        )
        s.add(hook)
        await s.flush()
        audit(
            s,
            actor,
            "webhook.add",
            "webhook",
            hook.id,
            {"url": display_url(clean), "events": chosen},
            clock=clock,
        )
    return hook, Secret(text)


async def remove_webhook(db: Database, actor: Actor, webhook_id: int, clock: Clock) -> None:
    """Delete a webhook (its pending deliveries fail with "webhook removed").

    Raises:
        NotFoundError: No such webhook.
        PermissionDeniedError: Not an admin.
    """
    actor.require_admin("removing webhooks")
    async with db.transaction() as s:
        hook = await s.get(Webhook, webhook_id)
        if hook is None:
            raise NotFoundError(f"no webhook {webhook_id}")
        audit(
            s,
            actor,
            "webhook.remove",
            "webhook",
            hook.id,
            {"url": display_url(hook.url)},
            clock=clock,
        )
        await s.delete(hook)


async def list_webhooks(db: Database) -> list[Webhook]:
    """Every webhook, oldest first."""
    async with db.reader() as s:
        return list((await s.execute(select(Webhook).order_by(Webhook.id))).scalars())


def webhook_json(hook: Webhook) -> dict[str, object]:
    """API view of a webhook (never the secret; the URL without path)."""
    return {
        "id": hook.id,
        "url": display_url(hook.url),
        "events": list(hook.events) or list(EVENTS),
        "enabled": hook.enabled,
        "created_at": hook.created_at.isoformat(),
    }


def unseal_secret(vault: MasterKey, hook: Webhook) -> bytes:
    """The webhook's signing secret.

    Raises:
        UnsealError: The sealed secret cannot be opened with this master key.
    """
    return vault.unseal(hook.sealed_secret, SECRET_PURPOSE)
