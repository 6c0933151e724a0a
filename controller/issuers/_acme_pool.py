"""Kept-open ACME connections: one small pool per account for a run of many orders.

Opening an :class:`AcmeConnection` costs an HTTPS handshake, the directory fetch and a
``newNonce`` request, and parsing the account key. A renewal run ordering hundreds of
certificates from one account borrows connections from :class:`AcmeConnections` instead:
each order has a connection to itself while it runs (so nonces and the HTTP keep-alive
connection are never shared by two orders at once), and hands it back afterwards with the
nonces the CA's last replies left in it.

A connection that saw a failure is closed rather than handed back, and none is kept longer
than ``max_age`` seconds (the directory is fetched afresh then). The pool lives as long as
its ``async with`` block; leaving it closes every kept connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple, Self

from certmgr.controller.issuers._acme_net import AcmeConnection
from certmgr.controller.issuers._acme_payload import DirectoryFeatures, features_of
from certmgr.shared.pki import private_key_from_pkcs8_der

if TYPE_CHECKING:
    from certmgr.controller.issuers.acme import AccountRecord

MAX_IDLE_PER_ACCOUNT = 64
MAX_AGE = 600.0  # seconds: the directory and the TLS session are renewed after this


class _Key(NamedTuple):
    directory_url: str
    account_url: str | None
    account_key: bytes  # SHA-256 of the key: a rotated key gets connections of its own
    ca_bundle: bytes
    request_timeout: float


class _Kept(NamedTuple):
    conn: AcmeConnection
    opened: float


def _key_of(
    directory_url: str,
    account_url: str | None,
    key_der: bytes | None,
    ca_bundle_pem: bytes | None,
    request_timeout: float,
) -> _Key:
    return _Key(
        directory_url.strip(),
        account_url,
        hashlib.sha256(key_der).digest() if key_der else b"",
        hashlib.sha256(ca_bundle_pem).digest() if ca_bundle_pem else b"",
        request_timeout,
    )


def _open(
    directory_url: str,
    account_url: str | None,
    key_der: bytes | None,
    ca_bundle_pem: bytes | None,
    request_timeout: float,
) -> AcmeConnection:
    key = private_key_from_pkcs8_der(key_der) if key_der else None
    return AcmeConnection(
        directory_url,
        key=key,
        account_url=account_url,
        ca_bundle_pem=ca_bundle_pem,
        request_timeout=request_timeout,
    )


class AcmeConnections:
    """Connections kept open between orders, per account (use as ``async with``).

    Args:
        max_idle: Connections kept per account between orders (more may be open while
            more orders run at once).
        max_age: Seconds after which a connection is closed instead of reused.
    """

    def __init__(self, *, max_idle: int = MAX_IDLE_PER_ACCOUNT, max_age: float = MAX_AGE) -> None:
        self._idle: dict[_Key, list[_Kept]] = {}
        self._max_idle = max_idle
        self._max_age = max_age
        self._closed = False
        self.opened = 0
        """How many connections this pool opened (for tests and benchmarks)."""

    @property
    def kept(self) -> int:
        """How many connections wait for the next order."""
        return sum(len(group) for group in self._idle.values())

    @asynccontextmanager
    async def borrow(
        self, account: AccountRecord, request_timeout: float
    ) -> AsyncIterator[AcmeConnection]:
        """A connection for ``account`` to itself for the block; kept for reuse unless it failed.

        Raises:
            ValidationError: A malformed directory URL, CA bundle or account key.
        """
        key_der = account.key_pkcs8.reveal()
        key = _key_of(
            account.directory_url,
            account.account_url,
            key_der,
            account.ca_bundle_pem,
            request_timeout,
        )
        taken = await self._take(key)
        if taken is None:
            # the first use of a CA bundle reads and parses it; the key is parsed once here
            conn = await asyncio.to_thread(
                _open,
                account.directory_url,
                account.account_url,
                key_der,
                account.ca_bundle_pem,
                request_timeout,
            )
            opened = time.monotonic()
            self.opened += 1
        else:
            conn, opened = taken
        try:
            yield conn
        except BaseException:
            await conn.close()
            raise
        if self._closed or len(self._idle.get(key, ())) >= self._max_idle:
            await conn.close()
        else:
            self._idle.setdefault(key, []).append(_Kept(conn, opened))

    async def directory_features(
        self, account: AccountRecord, request_timeout: float
    ) -> DirectoryFeatures:
        """Whether the account's CA offers ARI and which profiles it lists (from a kept directory).

        Raises:
            ValidationError: Malformed URL or CA bundle.
            AcmeTemporaryError: Unreachable or failing CA.
            AcmeRejectedError: Not an ACME directory.
        """
        async with self.borrow(account, request_timeout) as conn:
            directory = await conn.directory()
        return features_of(directory)

    async def _take(self, key: _Key) -> tuple[AcmeConnection, float] | None:
        kept = self._idle.get(key)
        now = time.monotonic()
        while kept:
            conn, opened = kept.pop()
            if now - opened < self._max_age:
                return conn, opened
            await conn.close()
        return None

    async def close(self) -> None:
        """Close every kept connection; later orders get connections that are not kept."""
        self._closed = True
        kept = [k.conn for group in self._idle.values() for k in group]
        self._idle.clear()
        for conn in kept:
            await conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
