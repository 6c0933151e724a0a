"""Requests refused by the IP allow-list: one counter row per source and minute, not one row each.

A flood from outside the allow-list updates a row in place; the audit log gets at most one
event per source and minute. Counters older than 30 days are pruned.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AccessRefusal
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services._upsert import upsert
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock

KEEP = dt.timedelta(days=30)


def source_key(address: str) -> str:
    """The source to count: the address, or its /64 for IPv6 (one host may hold a whole /64)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64] or "?"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


async def record_refusal(db: Database, address: str, path: str, clock: Clock) -> None:
    """Count a refused request (one statement; an audit event only for the first in a minute)."""
    now = clock.now()
    minute = now.replace(second=0, microsecond=0)
    source = source_key(address)
    path = path[:200]
    async with db.transaction() as s:
        count = (
            await s.execute(
                upsert(
                    s,
                    AccessRefusal,
                    {"source": source, "minute": minute, "count": 1, "last_path": path},
                    ("source", "minute"),
                    {"count": AccessRefusal.count + 1, "last_path": path},
                    returning=(AccessRefusal.count,),
                )
            )
        ).scalar_one()
        if count == 1:
            audit(
                s,
                Actor(name="anonymous", role=Role.USER, source=address[:64]),
                "access.ip-refused",
                "request",
                "",
                {"path": path, "source": source, "counted_per_minute": True},
                clock=clock,
            )
            await s.execute(delete(AccessRefusal).where(AccessRefusal.minute < minute - KEEP))


@dataclass(frozen=True)
class RefusalSummary:
    """Refusals of one source over a period."""

    source: str
    count: int
    first: dt.datetime
    last: dt.datetime


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
