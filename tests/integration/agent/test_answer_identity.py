"""The key that signs agent-API answers: read at most once a second, a rotation here seen at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from certmgr.controller.db.engine import Database
from certmgr.controller.services.agents import identity
from certmgr.controller.services.agents.identity import (
    answer_identity,
    controller_identity,
    rotate_controller_key,
)
from certmgr.shared import protocol as p
from certmgr.shared.clock import SystemClock
from tests.factories.sim_agents import ADMIN


async def test_answers_reuse_the_key_read_and_a_rotation_here_is_used_at_once(
    db: Any, vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity, "ANSWER_KEY_TTL", 3600.0)  # no timing in the test
    first = await answer_identity(db, vault)
    assert await answer_identity(db, vault) is first  # no read per answer

    await rotate_controller_key(db, vault, ADMIN, SystemClock())
    now = await answer_identity(db, vault)
    assert bytes(now.key.verify_key) != bytes(first.key.verify_key)
    assert bytes(now.key.verify_key) == bytes((await controller_identity(db, vault)).key.verify_key)
    # the answer announces the rotation, signed by the old key, so agents pinned to it follow
    headers = now.answer_headers("GET", "/x", p.new_nonce(), 200, b"{}")
    assert p.HEADER_KEY_ROTATION in headers


async def test_a_rotation_by_another_process_is_read_once_the_time_is_up(
    db: Any, database_url: str, vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity, "ANSWER_KEY_TTL", 3600.0)  # no timing in the test
    old = await answer_identity(db, vault)
    other = await asyncio.to_thread(Database, database_url)  # the CLI, or another controller
    try:
        await rotate_controller_key(other, vault, ADMIN, SystemClock())
    finally:
        await other.dispose()
    assert await answer_identity(db, vault) is old  # until the time is up: the key read before
    monkeypatch.setattr(identity, "ANSWER_KEY_TTL", 0.0)
    assert bytes((await answer_identity(db, vault)).key.verify_key) != bytes(old.key.verify_key)


async def test_the_key_at_hand_is_told_so_answers_skip_the_database_gate(
    db: Any, vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity, "ANSWER_KEY_TTL", 3600.0)  # no timing in the test
    identity._ANSWER_IDENTITY.pop(db, None)  # noqa: SLF001 - as a fresh process
    assert not identity.answer_identity_at_hand(db, vault)  # the first answer reads the key
    await answer_identity(db, vault)
    assert identity.answer_identity_at_hand(db, vault)
    assert not identity.answer_identity_at_hand(db, object())  # type: ignore[arg-type]
    monkeypatch.setattr(identity, "ANSWER_KEY_TTL", 0.0)
    assert not identity.answer_identity_at_hand(db, vault)  # time is up: read again, gated
