"""The renewal job: renew automatic (private CA, ACME) certificates when they are due.

For each definition whose current certificate is due (``renewal_due_at``: the policy, or the CA's
ACME Renewal Information window when it offers one), a renewal request is opened when none is open
and acquired. A failed acquisition is recorded on its request with a retry time (backoff in
:func:`certmgr.controller.services.acquisition.issuing.acquire`); the job tries it again once that time has
passed. A failure never touches the current certificate. Definitions are handled concurrently,
a few at a time (``MonitorConfig.renewal_concurrency``), and a run's ACME orders share kept-open
connections per account.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    SettingRecord,
)
from certmgr.controller.db.queries.requests import open_request_of
from certmgr.controller.domain.actors import SYSTEM, Actor
from certmgr.controller.domain.renewal import renewal_due_at
from certmgr.controller.domain.states import ONGOING_REQUEST, RequestStatus
from certmgr.controller.issuers.acme import AcmeConnections, renewal_info
from certmgr.controller.services.acquisition.acme_accounts import account_record, find_account
from certmgr.controller.services.acquisition.issuing import acquire
from certmgr.controller.services.acquisition.requests import (
    IssuerEnv,
    start_request,
)
from certmgr.controller.services.monitoring.daily import AUTOMATIC_ISSUERS
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import CertmgrError

logger = logging.getLogger(__name__)

ARI_CACHE_KEY = "ari_windows"
ARI_TIMEOUT = 15.0
ACQUIRABLE = frozenset({RequestStatus.KEY_AND_CSR.value, RequestStatus.ORDERED.value})


@dataclass
class RenewalSummary:
    """What one run did."""

    due: int = 0
    started: int = 0
    renewed: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON for the job record."""
        return {
            "due": self.due,
            "started": self.started,
            "renewed": self.renewed,
            "failed": self.failed,
            "waiting": self.waiting,
            "errors": self.errors[:20],
        }


@dataclass(frozen=True)
class _Candidate:
    definition_id: int
    name: str
    reason: str  # due | retry


async def _ari_windows(
    db: Database,
    vault: MasterKey,
    clock: Clock,
    rows: list[tuple[CertificateDefinition, Certificate]],
) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """ARI windows of ACME certificates, from the cache or fetched when their retry time passed."""
    now = clock.now()
    async with db.reader() as s:
        rec = await s.get(SettingRecord, ARI_CACHE_KEY)
    cache: dict[str, Any] = dict(rec.value) if rec is not None else {}
    live = {cert.sha256 for _, cert in rows}
    cache = {k: v for k, v in cache.items() if k in live}
    changed = False
    for d, cert in rows:
        entry = cache.get(cert.sha256)
        if entry and dt.datetime.fromisoformat(entry["next"]) > now:
            continue
        if d.acme_account_id is None or cert.source == "issued":
            continue
        try:
            record = account_record(await find_account(db, d.acme_account_id), vault)
            window = await renewal_info(record, cert.der, timeout=ARI_TIMEOUT, clock=clock)
        except CertmgrError as err:
            logger.info("no renewal information for %s: %s", d.name, err)
            window = None
        changed = True
        if window is None:
            cache[cert.sha256] = {"next": (now + dt.timedelta(hours=6)).isoformat()}
            continue
        retry = dt.timedelta(seconds=min(max(window.retry_after, 3600.0), 86400.0))
        cache[cert.sha256] = {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "next": (now + retry).isoformat(),
        }
    if changed:
        async with db.transaction() as s:
            row = await s.get(SettingRecord, ARI_CACHE_KEY)
            if row is None:
                row = SettingRecord(key=ARI_CACHE_KEY, value={}, updated_at=now)
                s.add(row)
            row.value, row.updated_at, row.updated_by = cache, now, SYSTEM.name
    return {
        sha: (dt.datetime.fromisoformat(v["start"]), dt.datetime.fromisoformat(v["end"]))
        for sha, v in cache.items()
        if "start" in v
    }


async def _candidates(
    db: Database, vault: MasterKey, clock: Clock, *, use_ari: bool
) -> tuple[list[_Candidate], int]:
    """Due automatic definitions, plus failed automatic requests whose retry time has come."""
    now = clock.now()
    async with db.reader() as s:
        rows = list(
            await s.execute(
                select(CertificateDefinition, Certificate)
                .join(Certificate, Certificate.id == CertificateDefinition.current_certificate_id)
                .where(
                    CertificateDefinition.archived.is_(False),
                    CertificateDefinition.issuer_kind.in_(sorted(AUTOMATIC_ISSUERS)),
                )
            )
        )
        retries = await s.execute(
            select(CertificateDefinition.id, CertificateDefinition.name)
            .join(
                CertificateRequest,
                CertificateRequest.definition_id == CertificateDefinition.id,
            )
            .where(
                CertificateDefinition.archived.is_(False),
                CertificateRequest.issuer_kind.in_(sorted(AUTOMATIC_ISSUERS)),
                CertificateRequest.status.in_([x.value for x in ONGOING_REQUEST]),
                CertificateRequest.attempts > 0,
                CertificateRequest.next_attempt_at <= now,
            )
        )
        retry_ids = {i: n for i, n in retries}
    acme = [(d, c) for d, c in rows if d.issuer_kind == "acme"]
    windows = await _ari_windows(db, vault, clock, acme) if use_ari and acme else {}
    out: list[_Candidate] = []
    for d, cert in rows:
        at = renewal_due_at(
            cert.not_before,
            cert.not_after,
            d.renewal_policy,
            ari_window=windows.get(cert.sha256),
            seed=str(d.id),
        )
        if at <= now:
            out.append(_Candidate(d.id, d.name, "due"))
    due = len(out)
    seen = {c.definition_id for c in out}
    out += [_Candidate(i, n, "retry") for i, n in retry_ids.items() if i not in seen]
    return out, due


async def due_definitions(db: Database, vault: MasterKey, clock: Clock) -> list[int]:
    """Ids of the definitions a renewal run would work on now (due, or a retry whose time came)."""
    candidates, _ = await _candidates(db, vault, clock, use_ari=True)
    return [c.definition_id for c in candidates]


async def _renew_one(
    db: Database,
    vault: MasterKey,
    clock: Clock,
    env: IssuerEnv,
    actor: Actor,
    c: _Candidate,
    summary: RenewalSummary,
) -> None:
    async with db.reader() as s:
        req: CertificateRequest | None = await open_request_of(s, c.definition_id)
    if req is None:
        req = await start_request(db, vault, actor, c.definition_id, clock)
        summary.started += 1
    if req.status not in ACQUIRABLE:
        summary.waiting += 1  # waiting for an agent's CSR, or already received
        return
    if req.next_attempt_at is not None and req.next_attempt_at > clock.now():
        summary.waiting += 1
        return
    done = await acquire(db, vault, actor, req.id, clock, env)
    if done.status == RequestStatus.DONE.value:
        summary.renewed += 1
    else:
        summary.failed += 1
        summary.errors.append(f"{c.name}: {done.last_error[:200]}")


async def run_renewals(
    db: Database,
    vault: MasterKey,
    clock: Clock,
    env: IssuerEnv,
    *,
    concurrency: int = 4,
    use_ari: bool = True,
    actor: Actor = SYSTEM,
    definition_ids: Collection[int] | None = None,
) -> RenewalSummary:
    """Renew every due automatic certificate and retry failed acquisitions whose time has come.

    Args:
        db: The database.
        vault: Unseals keys and ACME accounts.
        clock: Time source (due dates, retry times, issued validity).
        env: Where the private CA writes and how ACME answers challenges.
        concurrency: Definitions acquired at the same time.
        use_ari: Ask ACME CAs for their renewal window (RFC 9773) where they offer it.
        actor: Who the requests are attributed to.
        definition_ids: Only these definitions, and only while still due (a batch shared between
            controllers: one renewed by a controller that died since is no longer due).

    Returns:
        Counts; one definition's failure is recorded on its request and does not stop the others.
    """
    candidates, due = await _candidates(db, vault, clock, use_ari=use_ari)
    if definition_ids is not None:
        wanted = set(definition_ids)
        candidates = [c for c in candidates if c.definition_id in wanted]
        due = sum(1 for c in candidates if c.reason == "due")
    summary = RenewalSummary(due=due)
    gate = asyncio.Semaphore(max(1, concurrency))
    connections = AcmeConnections()  # kept open across the run's ACME orders
    if env.acme_connections is None:
        env = dataclasses.replace(env, acme_connections=connections)

    async def one(c: _Candidate) -> None:
        async with gate:
            try:
                await _renew_one(db, vault, clock, env, actor, c, summary)
            except CertmgrError as err:
                summary.failed += 1
                summary.errors.append(f"{c.name}: {str(err)[:200]}")

    async with connections, asyncio.TaskGroup() as tg:
        for c in candidates:
            tg.create_task(one(c))
    return summary
