"""Secrets shown once: each page's secret is kept apart, so overlapping work loses none."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import delete, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import ConsoleSession, User
from certmgr.controller.services.admin.reveal import hold_secret, take_secret
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from tests.factories.homes import amake_home


async def test_secrets_for_different_pages_are_kept_apart(
    tmp_path: Path, database_url: str
) -> None:
    home = await amake_home(tmp_path, database_url)
    settings = await asyncio.to_thread(load_settings, home)
    vault = await asyncio.to_thread(read_master_key, settings.master_key_path)
    db = await asyncio.to_thread(Database, settings.database_url)
    sid = "session-for-the-test"
    now = dt.datetime.now(dt.UTC)
    try:
        async with db.transaction() as s:
            admin = (await s.execute(select(User).where(User.username == "admin"))).scalar_one()
            s.add(
                ConsoleSession(
                    id_sha256=hashlib.sha256(sid.encode()).hexdigest(),
                    user_id=admin.id,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        # two package builds and a token, finishing in any order: none is lost
        assert await hold_secret(db, vault, sid, "deployment-1", {"passphrase": "one"})
        assert await hold_secret(db, vault, sid, "deployment-2", {"passphrase": "two"})
        assert await hold_secret(db, vault, sid, "token", {"token": "t1"})
        assert await hold_secret(db, vault, sid, "token", {"token": "t2"})  # newer replaces
        assert await take_secret(db, vault, sid, "deployment-2") == {"passphrase": "two"}
        assert await take_secret(db, vault, sid, "deployment-2") is None  # shown once
        assert await take_secret(db, vault, sid, "token") == {"token": "t2"}
        assert await take_secret(db, vault, sid, "deployment-1") == {"passphrase": "one"}
        async with db.reader() as s:
            left = (await s.execute(select(ConsoleSession.sealed_reveal))).scalar_one()
        assert left is None  # nothing lingers once every page took its secret
        # signed out meanwhile: nothing is kept, and the caller is told
        async with db.transaction() as s:
            await s.execute(delete(ConsoleSession))
        assert not await hold_secret(db, vault, sid, "deployment-1", {"passphrase": "x"})
    finally:
        await db.dispose()
