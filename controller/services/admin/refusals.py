"""Refused requests: one counter row per source and minute, not one row each.

Two kinds are counted: requests from outside the IP allow-list, and agent enrolments with an
unknown, used or expired token (their source carries the prefix ``enrolment``). A flood updates
a row in place; the audit log gets at most one event per source and minute. Counters older than
30 days are pruned.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AccessRefusal
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services._upsert import upsert
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock

KEEP = dt.timedelta(days=30)
ENROLMENT_PREFIX = "enrolment "


def source_key(address: str) -> str:
    """The source to count: the address, or its /64 for IPv6 (one host may hold a whole /64)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64] or "?"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


async def count_refusal(s: AsyncSession, source: str, path: str, clock: Clock) -> int:
    """Add one refusal to ``source``'s counter of this minute; the counter's new value.

    One statement; the first refusal of a minute also prunes counters older than ``KEEP``.
    """
    minute = clock.now().replace(second=0, microsecond=0)
    path = path[:200]
    count = (
        await s.execute(
            upsert(
                s,
                AccessRefusal,
                {"source": source[:64], "minute": minute, "count": 1, "last_path": path},
                ("source", "minute"),
                {"count": AccessRefusal.count + 1, "last_path": path},
                returning=(AccessRefusal.count,),
            )
        )
    ).scalar_one()
    if count == 1:
        await s.execute(delete(AccessRefusal).where(AccessRefusal.minute < minute - KEEP))
    return int(count)


async def record_refusal(db: Database, address: str, path: str, clock: Clock) -> None:
    """Count a request refused by the IP allow-list (an audit event only for the first in a minute)."""
    source = source_key(address)
    async with db.transaction() as s:
        if await count_refusal(s, source, path, clock) == 1:
            audit(
                s,
                Actor(name="anonymous", role=Role.USER, source=address[:64]),
                "access.ip-refused",
                "request",
                "",
                {"path": path[:200], "source": source, "counted_per_minute": True},
                clock=clock,
            )


@dataclass(frozen=True)
class RefusalSummary:
    """Refusals of one source over a period."""

    source: str
    count: int
    first: dt.datetime
    last: dt.datetime

    @property
    def address(self) -> str:
        """The address (or IPv6 /64) the requests came from."""
        return self.source.removeprefix(ENROLMENT_PREFIX)

    @property
    def refused_by(self) -> str:
        """What refused them, in words."""
        if self.source.startswith(ENROLMENT_PREFIX):
            return "agent enrolment (unknown, used or expired token)"
        return "IP allow-list"


async def refusal_summary(
    db: Database, since: dt.datetime, limit: int = 50
) -> list[RefusalSummary]:
    """Refused requests per source since ``since``, most first."""
    total = func.sum(AccessRefusal.count)
    async with db.reader() as s:
        rows = (
            await s.execute(
                select(
                    AccessRefusal.source,
                    total,
                    func.min(AccessRefusal.minute),
                    func.max(AccessRefusal.minute),
                )
                .where(AccessRefusal.minute >= since)
                .group_by(AccessRefusal.source)
                .order_by(total.desc(), AccessRefusal.source)
                .limit(limit)
            )
        ).all()
    return [RefusalSummary(src, int(n), first, last) for src, n, first, last in rows]
