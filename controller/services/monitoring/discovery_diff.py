"""What changed between two runs of the scheduled scan, as findings that notify like monitoring's.

New endpoints, gone endpoints and changed certificates are ``discovery-new``,
``discovery-gone`` and ``discovery-changed`` findings.

The first scheduled run is the baseline and raises nothing. A difference stays open until the
next scheduled run, which clears it (or raises it again if it still differs from the run before).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import DiscoveredCertificate, DiscoveredEndpoint, DiscoveryScan
from certmgr.controller.services.monitoring.findings import FindingChanges, FindingSpec, reconcile
from certmgr.shared.clock import Clock

NEW, GONE, CHANGED = "discovery-new", "discovery-gone", "discovery-changed"
DIFF_KINDS = (NEW, GONE, CHANGED)


@dataclass(frozen=True)
class Seen:
    """One TLS endpoint of a run and the leaf it served."""

    address: str
    port: int
    sni: str
    sha256: str
    name: str  # the leaf's common name (for messages)

    @property
    def where(self) -> str:
        """``address:port`` (with the SNI when one was sent)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}" + (f" (SNI {self.sni})" if self.sni else "")


async def _seen(db: Database, scan_id: int) -> dict[tuple[str, int, str], Seen]:
    async with db.reader() as s:
        rows = await s.execute(
            select(
                DiscoveredEndpoint.address,
                DiscoveredEndpoint.port,
                DiscoveredEndpoint.sni,
                DiscoveredEndpoint.sha256,
                DiscoveredCertificate.common_name,
            )
            .outerjoin(
                DiscoveredCertificate,
                DiscoveredCertificate.id == DiscoveredEndpoint.certificate_id,
            )
            .where(DiscoveredEndpoint.scan_id == scan_id, DiscoveredEndpoint.sha256 != "")
        )
        return {
            (a or "", p or 0, sni or ""): Seen(a or "", p or 0, sni or "", fp, cn or "")
            for a, p, sni, fp, cn in rows
        }


async def previous_scheduled(db: Database, scan_id: int) -> int | None:
    """The last scheduled scan that finished before ``scan_id`` (None: this is the first)."""
    async with db.reader() as s:
        found: int | None = (
            await s.execute(
                select(func.max(DiscoveryScan.id)).where(
                    DiscoveryScan.scheduled.is_(True),
                    DiscoveryScan.state == "done",
                    DiscoveryScan.id < scan_id,
                )
            )
        ).scalar_one_or_none()
    return found


def _key(kind: str, seen: Seen) -> str:
    text = f"{kind}:{seen.address}:{seen.port}:{seen.sni}"
    if len(text) <= 200:
        return text
    return f"{kind}:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def differences(
    before: dict[tuple[str, int, str], Seen], after: dict[tuple[str, int, str], Seen], scan_id: int
) -> list[FindingSpec]:
    """The findings for what differs between two runs (pure)."""
    out: list[FindingSpec] = []
    run = f"scheduled discovery scan #{scan_id}"
    for key, now in after.items():
        old = before.get(key)
        if old is None:
            out.append(
                FindingSpec(
                    _key(NEW, now),
                    NEW,
                    "warning",
                    f"{run}: new TLS endpoint {now.where} serves {now.name or 'a certificate'} "
                    f"(SHA-256 {now.sha256[:16]}…)",
                )
            )
        elif old.sha256 != now.sha256:
            out.append(
                FindingSpec(
                    _key(CHANGED, now),
                    CHANGED,
                    "warning",
                    f"{run}: {now.where} now serves {now.name or 'another certificate'} "
                    f"(SHA-256 {now.sha256[:16]}…) instead of {old.name or 'the one before'} "
                    f"({old.sha256[:16]}…)",
                )
            )
    for key, old in before.items():
        if key not in after:
            out.append(
                FindingSpec(
                    _key(GONE, old),
                    GONE,
                    "warning",
                    f"{run}: {old.where} no longer serves TLS (it served "
                    f"{old.name or 'a certificate'}, SHA-256 {old.sha256[:16]}…)",
                )
            )
    return out


async def record_differences(db: Database, clock: Clock, scan_id: int) -> FindingChanges:
    """Raise the findings for what changed since the previous scheduled run; clear older ones.

    Returns:
        The findings opened and cleared (pass them to ``alert_changes`` to notify).
    """
    before_id = await previous_scheduled(db, scan_id)
    if before_id is None:
        return FindingChanges()
    wanted = differences(await _seen(db, before_id), await _seen(db, scan_id), scan_id)
    return await reconcile(db, wanted, clock, kinds=DIFF_KINDS)
