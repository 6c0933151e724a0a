"""Finding 12: refused requests (IP allow-list, enrolment guesses) are counted per source and minute."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import nacl.public
import nacl.signing
from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AccessRefusal, AuditEvent
from certmgr.controller.settings import load_settings
from certmgr.shared import protocol as p
from certmgr.shared.clock import FakeClock
from certmgr.shared.secret import Secret
from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home


async def _counts(database_url: str) -> tuple[int, list[tuple[str, int]]]:
    db = Database(database_url)
    try:
        async with db.reader() as s:
            events = (
                await s.execute(
                    select(func.count(AuditEvent.id)).where(
                        AuditEvent.action == "access.ip-refused"
                    )
                )
            ).scalar_one()
            rows = (
                await s.execute(
                    select(AccessRefusal.source, AccessRefusal.count).order_by(AccessRefusal.minute)
                )
            ).all()
    finally:
        await db.dispose()
    return int(events), [(src, int(n)) for src, n in rows]


async def test_refusals_aggregated(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    (home / "ip_acl.txt").write_text("# nobody on loopback\n192.0.2.0/24\n")
    clock = FakeClock(dt.datetime(2026, 12, 4, 10, 0, 5, tzinfo=dt.UTC))
    async with console_client(home, clock=clock) as c:
        statuses = await asyncio.gather(*(c.client.get("/healthz") for _ in range(40)))
        assert {r.status for r in statuses} == {403}
        for path in ("/login", "/api/v1/me", "/metrics"):
            assert (await c.client.get(path)).status == 403
        clock.advance(dt.timedelta(minutes=1))
        for _ in range(3):
            assert (await c.client.get("/healthz")).status == 403
        # the audit log screen shows the aggregate
        (home / "ip_acl.txt").write_text("127.0.0.1\n::1\n")
        assert (await sign_in(c)).status == 303
        html = await (await c.client.get("/audit")).text()
        table = html.split('id="refusals"', 1)[1]
        assert "<td>127.0.0.1</td><td>IP allow-list</td><td>46</td>" in table
    events, rows = await _counts(load_settings(home).database_url)
    # 46 refusals: two counter rows (one per minute) and one audit event per minute, not 46
    assert rows == [("127.0.0.1", 43), ("127.0.0.1", 3)]
    assert events == 2


async def test_enrolment_guesses_are_counted_not_each_audited(
    tmp_path: Path, database_url: str
) -> None:
    """Thirty enrolments with made-up tokens: all refused, one audit event, one counter of 30."""
    home = await amake_home(tmp_path, database_url)
    clock = FakeClock(dt.datetime(2026, 12, 5, 10, 0, 5, tzinfo=dt.UTC))

    def guess(i: int) -> bytes:
        return p.encode(
            p.EnrollRequest(
                token_secret=Secret(f"guess-{i:04d}-" + "x" * 32),
                agent_name=f"guess{i}",
                hostname="attacker.example",
                agent_version="test",
                x25519_public_key=bytes(nacl.public.PrivateKey.generate().public_key),
                ed25519_public_key=bytes(nacl.signing.SigningKey.generate().verify_key),
            )
        )

    async with console_client(home, clock=clock) as c:
        headers = {"Content-Type": "application/json"}
        answers = await asyncio.gather(
            *(c.client.post(p.PATH_ENROLL, data=guess(i), headers=headers) for i in range(30))
        )
        assert {r.status for r in answers} == {403}
        assert (await sign_in(c)).status == 303
        html = await (await c.client.get("/audit")).text()
        table = html.split('id="refusals"', 1)[1]
        assert (
            "<td>127.0.0.1</td><td>agent enrolment (unknown, used or expired token)</td><td>30</td>"
            in table
        )
    db = Database(load_settings(home).database_url)
    try:
        async with db.reader() as s:
            events = (
                await s.execute(
                    select(func.count(AuditEvent.id)).where(
                        AuditEvent.action == "agent.enroll-refused"
                    )
                )
            ).scalar_one()
            rows = (await s.execute(select(AccessRefusal.source, AccessRefusal.count))).all()
    finally:
        await db.dispose()
    assert events == 1
    assert [(src, int(n)) for src, n in rows] == [("enrolment 127.0.0.1", 30)]
