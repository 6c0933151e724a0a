"""Outbound e-mail over SMTP (plain, STARTTLS or TLS); every message is stored in Sent Emails."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import SentEmail
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit
from certmgr.controller.services.settings_store import MailSettings
from certmgr.shared.clock import Clock

SEND_TIMEOUT = 20.0


@dataclass(frozen=True)
class OutgoingMail:
    """A message to send."""

    to: tuple[str, ...]
    subject: str
    body: str
    kind: str
    entity_type: str = ""
    entity_id: str = ""


def _tls_context(settings: MailSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if settings.ca_file:
        ctx.load_verify_locations(cafile=settings.ca_file)
    return ctx


def build_message(settings: MailSettings, mail: OutgoingMail) -> EmailMessage:
    """The RFC 5322 message."""
    msg = EmailMessage()
    msg["From"] = formataddr((settings.sender_name, settings.sender_address))
    msg["To"] = ", ".join(mail.to)
    msg["Subject"] = mail.subject.replace("\r", " ").replace("\n", " ")[:250]
    msg["Message-ID"] = make_msgid(domain=settings.sender_address.split("@")[-1] or "certmgr.local")
    msg.set_content(mail.body)
    return msg


async def deliver(settings: MailSettings, mail: OutgoingMail) -> str | None:
    """Send one message; returns None on success or a plain error message (never raises for SMTP trouble)."""
    if not settings.configured:
        return "outbound mail is not configured (Settings → Mail)"
    if not mail.to:
        return "no recipient"
    msg = build_message(settings, mail)
    kwargs: dict[str, object] = {
        "hostname": settings.host,
        "port": settings.port,
        "timeout": SEND_TIMEOUT,
        "use_tls": settings.security == "tls",
        "start_tls": settings.security == "starttls",
    }
    if settings.security in ("tls", "starttls"):
        kwargs["tls_context"] = await asyncio.to_thread(_tls_context, settings)
    if settings.username:
        kwargs["username"] = settings.username
        kwargs["password"] = settings.password.reveal() if settings.password else ""
    try:
        async with asyncio.timeout(SEND_TIMEOUT + 5):
            await aiosmtplib.send(msg, **kwargs)  # type: ignore[arg-type]
    except aiosmtplib.SMTPAuthenticationError as err:
        return f"SMTP server refused the user name or password ({err.code})"
    except aiosmtplib.SMTPResponseException as err:
        return f"SMTP server said {err.code}: {err.message[:200]}"
    except aiosmtplib.SMTPException as err:
        return f"SMTP error: {str(err)[:200]}"
    except TimeoutError:
        return f"SMTP server {settings.host}:{settings.port} did not answer in time"
    except ssl.SSLError as err:
        return f"TLS with the SMTP server failed: {err.reason or err.__class__.__name__}"
    except OSError as err:
        return f"cannot reach SMTP server {settings.host}:{settings.port}: {err.strerror or err.__class__.__name__}"
    return None


async def send_and_record(
    db: Database, actor: Actor, settings: MailSettings, mail: OutgoingMail, clock: Clock
) -> SentEmail:
    """Send, then store the message and its result in Sent Emails (sent or failed)."""
    error = await deliver(settings, mail)
    async with db.transaction() as s:
        row = SentEmail(
            at=clock.now(),
            kind=mail.kind,
            to=", ".join(mail.to)[:1000],
            subject=mail.subject[:500],
            body=mail.body,
            result="sent" if error is None else "failed",
            error=error or "",
            entity_type=mail.entity_type,
            entity_id=mail.entity_id,
        )
        s.add(row)
        await s.flush()
        audit(
            s,
            actor,
            "mail.send",
            "email",
            row.id,
            {"kind": mail.kind, "to": row.to, "result": row.result},
            clock=clock,
        )
    return row
