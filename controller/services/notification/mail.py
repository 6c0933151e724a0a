"""Outbound e-mail over SMTP (plain, STARTTLS or TLS); every message is stored in Sent Emails.

The stored copy never holds a secret the message carries (a download token): the sender names
those in :attr:`OutgoingMail.redact` and they are replaced by :data:`REDACTED`.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import SentEmail
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.admin.settings import MailSettings
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock

SEND_TIMEOUT = 20.0
REDACTED = "<redacted>"


@dataclass(frozen=True)
class OutgoingMail:
    """A message to send."""

    to: tuple[str, ...]
    subject: str
    body: str
    kind: str
    entity_type: str = ""
    entity_id: str = ""
    redact: tuple[str, ...] = field(default=(), repr=False)

    def stored_body(self) -> str:
        """The body as Sent Emails keeps it: every secret in :attr:`redact` replaced."""
        return redact_text(self.body, self.redact)

    def stored_subject(self) -> str:
        """The subject as Sent Emails keeps it."""
        return redact_text(self.subject, self.redact)


def test_message(to: str, signature: str) -> OutgoingMail:
    """The test e-mail of Settings (console and API), signed like every other e-mail."""
    return OutgoingMail(
        (to,),
        "certmgr test e-mail",
        f"This is a test e-mail from certmgr. Outbound mail works.\n\n-- \n{signature}\n",
        "test",
    )


def redact_text(text: str, values: tuple[str, ...]) -> str:
    """``text`` with each of ``values`` (longest first) replaced by :data:`REDACTED`."""
    for secret in sorted((x for x in values if x), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


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


async def record_sent(
    s: AsyncSession, actor: Actor, mail: OutgoingMail, error: str | None, clock: Clock
) -> SentEmail:
    """Store a message (secrets redacted) and its result in Sent Emails, in the caller's transaction."""
    row = SentEmail(
        at=clock.now(),
        kind=mail.kind,
        to=", ".join(mail.to)[:1000],
        subject=mail.stored_subject()[:500],
        body=mail.stored_body(),
        result="sent" if error is None else "failed",
        error=redact_text(error or "", mail.redact),
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


async def send_and_record(
    db: Database, actor: Actor, settings: MailSettings, mail: OutgoingMail, clock: Clock
) -> SentEmail:
    """Send, then store the message (secrets redacted) and its result in Sent Emails."""
    error = await deliver(settings, mail)
    async with db.transaction() as s:
        return await record_sent(s, actor, mail, error, clock)
