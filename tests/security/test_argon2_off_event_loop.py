"""Argon2 never runs on the event loop nor inside a transaction, and nothing hashes at import.

One Argon2 computation takes about half a second here: on the loop it would stall every
request and agent long-poll, inside a transaction it would hold SQLite's write lock.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller import appkeys
from certmgr.controller.db.engine import Database
from certmgr.controller.services.admin import users
from tests.factories.console import console_client, sign_in
from tests.factories.homes import ADMIN_PASSWORD, amake_home


def test_no_hash_at_import() -> None:
    code = (
        "import argon2\n"
        "calls = []\n"
        "real = argon2.PasswordHasher.hash\n"
        "argon2.PasswordHasher.hash = lambda self, *a, **k: calls.append(1) or real(self, *a, **k)\n"
        "import certmgr.controller.services.admin.auth, certmgr.controller.app\n"
        "print(len(calls))\n"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "0"


IN_TRANSACTION: ContextVar[bool] = ContextVar("in_transaction", default=False)


def _watch_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    real = db.transaction

    @asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncSession]:
        async with real() as s:
            token = IN_TRANSACTION.set(True)
            try:
                yield s
            finally:
                IN_TRANSACTION.reset(token)

    monkeypatch.setattr(db, "transaction", transaction)


class _WatchedHasher(PasswordHasher):
    """The real Argon2id hasher, noting where each computation runs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bool, bool]] = []

    def _note(self, what: str) -> None:
        # asyncio.to_thread carries the caller's context into the thread
        on_loop = threading.current_thread() is threading.main_thread()
        self.calls.append((what, on_loop, IN_TRANSACTION.get()))

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._note("hash")
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002
        self._note("verify")
        return super().verify(hash, password)


async def test_argon2_off_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    hasher = _WatchedHasher()
    monkeypatch.setattr(users, "_HASHER", hasher)
    async with console_client(home) as c:
        _watch_transactions(c.client.app[appkeys.DB], monkeypatch)
        assert (await sign_in(c)).status == 303  # warm up templates, TLS, connections

        # the suite's loop guard (tests/loop_guard.py) fails this test if any of these holds
        # the event loop for 100 ms; the hasher notes where each computation ran
        for user, password in (
            ("admin", ADMIN_PASSWORD),
            ("admin", "a wrong password"),
            ("nobody", "an unknown user"),
            ("admin", ADMIN_PASSWORD),
        ):
            c.client.session.cookie_jar.clear()
            assert (await sign_in(c, user, password)).status in (303, 401)
        c.client.session.cookie_jar.clear()
        assert (await sign_in(c)).status == 303
        resp = await c.post_form(
            "/users",
            {"username": "carol", "email": "", "role": "user"},
            from_page="/users",
            allow_redirects=True,
        )
        assert resp.status == 200 and "carol" in await resp.text()
    # sign-ins (right, wrong, unknown user) and adding a user: every hash in a worker
    # thread, none while a write transaction is open
    assert {what for what, _, _ in hasher.calls} == {"hash", "verify"}
    assert len(hasher.calls) >= 7
    assert not [call for call in hasher.calls if call[1]], "Argon2 ran on the event loop"
    assert not [call for call in hasher.calls if call[2]], "Argon2 ran inside a transaction"
