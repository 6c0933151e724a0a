"""The running console serves its definition's current certificate: reload on change, no restart.

Every ``[server] tls_reload_seconds`` (60 by default) each replica reads which certificate the
console should serve (the console definition's current one, ``certmgr console use`` may change
the definition) and compares its SHA-256 with the one loaded. On a change it writes ``tls/`` and
loads the new chain into the live ``SSLContext``: handshakes from then on present the new
certificate, connections already open keep theirs. A failure keeps the old certificate and is
logged once (and once more when it works again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from cryptography import x509
from sqlalchemy.exc import SQLAlchemyError

from certmgr.controller.db.engine import Database
from certmgr.controller.services.admin.console_tls import (
    CONSOLE_CERT,
    CONSOLE_KEY,
    console_key_password,
    wanted_certificate,
    write_console_files,
)
from certmgr.controller.settings import Settings
from certmgr.controller.vault import MasterKey
from certmgr.shared.errors import CertmgrError
from certmgr.shared.pki import sha256_fingerprint

logger = logging.getLogger(__name__)


def load_console_chain(ctx: ssl.SSLContext, settings: Settings, vault: MasterKey) -> None:
    """Load ``tls/console.pem`` and its encrypted key into ``ctx`` (new handshakes use them).

    Raises:
        OSError: A file cannot be read.
        ssl.SSLError: The files do not make a certificate and key.
    """
    ctx.load_cert_chain(
        settings.tls_dir / CONSOLE_CERT,
        settings.tls_dir / CONSOLE_KEY,
        password=console_key_password(vault),
    )


def served_sha256(settings: Settings) -> str:
    """SHA-256 of the certificate in ``tls/console.pem`` ("" when unreadable); blocking."""
    try:
        pem = (settings.tls_dir / CONSOLE_CERT).read_bytes()
        return sha256_fingerprint(x509.load_pem_x509_certificates(pem)[0])
    except (OSError, ValueError, IndexError):
        return ""


class ConsoleTlsReloader:
    """Keeps one live server ``SSLContext`` on the console definition's current certificate."""

    def __init__(
        self, ctx: ssl.SSLContext, settings: Settings, vault: MasterKey, db: Database
    ) -> None:
        """Watch for ``ctx`` (already loaded from ``tls/``); nothing runs until :meth:`start`."""
        self.ctx, self.settings, self.vault, self.db = ctx, settings, vault, db
        self.loaded = ""
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def refresh(self) -> bool:
        """Load the wanted certificate if it is not the one served; True when it was reloaded."""
        if not self.loaded:
            self.loaded = await asyncio.to_thread(served_sha256, self.settings)
        try:
            wanted = await wanted_certificate(self.db)
            if wanted.certificate_id is None or wanted.sha256 == self.loaded:
                self._recovered()
                return False
            written = await write_console_files(
                self.db, self.vault, self.settings, wanted.definition
            )
            # On the loop, never beside a handshake: an SSLContext is not changed from two threads.
            load_console_chain(self.ctx, self.settings, self.vault)
        except (CertmgrError, SQLAlchemyError, OSError, ssl.SSLError) as err:
            if not self._failing:
                logger.warning("console certificate: cannot reload: %s", err)
            self._failing = True
            return False
        self._recovered()
        self.loaded = written.sha256
        logger.info(
            "console certificate reloaded: definition %r, sha256 %s, valid until %s",
            written.definition,
            written.sha256,
            written.not_after,
        )
        return True

    def _recovered(self) -> None:
        if self._failing:
            logger.info("console certificate: reloading works again")
        self._failing = False

    def start(self, every: float) -> None:
        """Check every ``every`` seconds on a stored task (stopped by :meth:`aclose`)."""

        async def loop() -> None:
            while True:
                await self.refresh()
                await asyncio.sleep(every)

        if self._task is None:
            self._task = asyncio.create_task(loop(), name="console-tls-reload")

    async def aclose(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
