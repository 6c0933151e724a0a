"""An in-process SMTP sink with STARTTLS and AUTH LOGIN/PLAIN (RECIPES-SERVERS §6).

aiosmtpd's ``Controller`` runs the server on its own event loop in a thread, so both sync tests
and async tests (aiosmtplib, the probe) can talk to it over loopback.
"""

from __future__ import annotations

import email
import email.policy
import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.factories._serverbase import Lifecycle
from tests.factories.servers import free_port
from tests.factories.waiting import ConditionTimeoutError, async_wait_for, wait_for

# aiosmtpd 1.4 logs its own deprecation of ``login_data`` on every AUTH; keep the test log clean.
logging.getLogger("mail.log").addFilter(
    lambda record: "login_data is deprecated" not in record.getMessage()
)


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the sink accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: bytes | None

    def as_email(self) -> EmailMessage:
        """The message parsed with the modern ``email`` policy."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _StoreHandler:
    def __init__(self, messages: list[ReceivedMessage]) -> None:
        self.messages = messages

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        login = session.auth_data.login if session.auth_data else None
        self.messages.append(
            ReceivedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content, login)
        )
        return "250 OK"


class SmtpSink(Lifecycle):
    """SMTP on loopback: STARTTLS offered and required, AUTH required after STARTTLS.

    ``messages`` fills as mail arrives. Use as a context manager, or ``start()``/``stop()``.
    """

    def __init__(
        self,
        cert: Path,
        key: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        user: str = "mailer",
        password: str = "s3cret",  # noqa: S107 - a throw-away test credential
        require_starttls: bool = True,
        auth_required: bool = True,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.user = user
        self.password = password
        self.messages: list[ReceivedMessage] = []
        self._cert, self._key = cert, key
        self._require_starttls = require_starttls
        self._auth_required = auth_required
        self._controller: Controller | None = None

    def _authenticator(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> None:
        """Start the server thread (ready when this returns)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self._cert, self._key)
        self._controller = Controller(
            _StoreHandler(self.messages),
            hostname=self.host,
            port=self.port,
            tls_context=ctx,
            require_starttls=self._require_starttls,
            authenticator=self._authenticator,
            auth_require_tls=True,
            auth_required=self._auth_required,
        )
        self._controller.start()

    def stop(self) -> None:
        """Stop the server and join its thread."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def wait_for_messages(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Poll until at least ``count`` messages arrived (False when the deadline passed)."""
        try:
            wait_for(lambda: len(self.messages) >= count, timeout, 0.01)
        except ConditionTimeoutError:
            return False
        return True

    async def messages_arrived(self, count: int = 1, timeout: float = 5.0) -> bool:
        """`wait_for_messages` for async tests: the event loop keeps running meanwhile."""
        try:
            await async_wait_for(lambda: len(self.messages) >= count, timeout, 0.01)
        except ConditionTimeoutError:
            return False
        return True
