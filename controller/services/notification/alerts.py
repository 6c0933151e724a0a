"""Who hears about what: immediate alerts for critical findings, webhooks, the daily digest.

Alerts follow state changes only (a finding opened or cleared), so nothing repeats. Critical
findings (expired, or a mismatch on a production deployment) are e-mailed to the certificate
administrator at once; every change goes to the webhooks that want it. The daily digest sums up
new and cleared findings, renewals due and deployments waiting, and is not sent at all when none
of that changed since the last one (unless ``NotifyConfig.digest_always``). Everything goes
through the outbox, in the same transaction as the bookkeeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Finding, SettingRecord
from certmgr.controller.domain.actors import SYSTEM, Actor
from certmgr.controller.domain.events import finding_kind_text
from certmgr.controller.services.admin.settings import load_general_settings
from certmgr.controller.services.audit import audit
from certmgr.controller.services.deployment.packages import text_templates
from certmgr.controller.services.monitoring.config import load_notify_config
from certmgr.controller.services.monitoring.daily import deployments_waiting, renewals_due
from certmgr.controller.services.monitoring.findings import FindingChanges
from certmgr.controller.services.notification.outbox import enqueue_email, enqueue_webhooks
from certmgr.shared.clock import Clock

DIGEST_STATE_KEY = "digest_state"


def finding_json(f: Finding, base_url: str = "") -> dict[str, Any]:
    """A finding as webhooks, the API and the CLI show it."""
    link = ""
    if base_url:
        link = f"{base_url}/deployments/{f.deployment_id}" if f.deployment_id else ""
        link = link or (f"{base_url}/definitions/{f.definition_id}" if f.definition_id else "")
    return {
        "id": f.id,
        "key": f.key,
        "kind": f.kind,
        "kind_text": finding_kind_text(f.kind),
        "severity": f.severity,
        "state": f.state,
        "message": f.message,
        "definition_id": f.definition_id,
        "deployment_id": f.deployment_id,
        "opened_at": f.opened_at.isoformat(),
        "cleared_at": f.cleared_at.isoformat() if f.cleared_at else None,
        "link": link,
    }


def _recipients(admin_email: str) -> list[str]:
    return [a.strip() for a in admin_email.split(",") if a.strip()]


async def alert_changes(
    db: Database, clock: Clock, changes: FindingChanges, *, base_url: str = ""
) -> int:
    """Queue webhooks for every change and one e-mail for new critical findings.

    Returns:
        How many messages were queued.
    """
    if not changes:
        return 0
    cfg = await load_notify_config(db)
    general = await load_general_settings(db)
    base = (general.external_url or base_url).rstrip("/")
    to = _recipients(general.admin_email)
    now = clock.now()
    queued = 0
    async with db.transaction() as s:
        for f in changes.opened:
            queued += await enqueue_webhooks(s, "finding.opened", finding_json(f, base), now)
        for f in changes.cleared:
            queued += await enqueue_webhooks(s, "finding.cleared", finding_json(f, base), now)
        critical = [f for f in changes.opened if f.severity == "critical"]
        if critical and cfg.immediate_critical and to:
            body = await _render(
                "mail/alert.txt",
                findings=[finding_json(f, base) for f in critical],
                base_url=base,
                signature=general.signature,
            )
            subject = (
                f"certmgr: CRITICAL: {critical[0].message[:120]}"
                if len(critical) == 1
                else f"certmgr: CRITICAL: {len(critical)} new critical findings"
            )
            await enqueue_email(s, to, subject, body, "alert", now, entity_type="finding")
            queued += 1
            for f in critical:
                row = await s.get(Finding, f.id)
                if row is not None:
                    row.notified = True
    return queued


@dataclass(frozen=True)
class DigestResult:
    """What the digest job did."""

    sent: bool
    reason: str
    new: int = 0
    cleared: int = 0
    renewals_due: int = 0
    waiting: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON for the job record."""
        return {
            "digest_sent": self.sent,
            "reason": self.reason,
            "new": self.new,
            "cleared": self.cleared,
            "renewals_due": self.renewals_due,
            "waiting": self.waiting,
        }


async def send_digest(
    db: Database,
    clock: Clock,
    *,
    base_url: str = "",
    force: bool = False,
    actor: Actor = SYSTEM,
) -> DigestResult:
    """Queue the daily digest to the certificate administrator, unless nothing changed.

    "Changed" means: a finding opened or cleared since the last digest, or the set of renewals due
    and deployments waiting is not the one the last digest listed.
    """
    cfg = await load_notify_config(db)
    general = await load_general_settings(db)
    to = _recipients(general.admin_email)
    base = (general.external_url or base_url).rstrip("/")
    now = clock.now()
    due = await renewals_due(db, now)
    waiting = await deployments_waiting(db)
    state = _state_hash(
        [r.definition_id for r in due], [(w.id, w.status, w.outdated) for w in waiting]
    )
    async with db.reader() as s:
        new = list(
            (
                await s.execute(
                    select(Finding)
                    .where(Finding.digested_open.is_(False))
                    .order_by(Finding.severity, Finding.id)
                )
            ).scalars()
        )
        cleared = list(
            (
                await s.execute(
                    select(Finding)
                    .where(Finding.state == "cleared", Finding.digested_clear.is_(False))
                    .order_by(Finding.id)
                )
            ).scalars()
        )
        previous = await s.get(SettingRecord, DIGEST_STATE_KEY)
    counts = {"new": len(new), "cleared": len(cleared), "renewals_due": len(due)}
    counts["waiting"] = len(waiting)
    before = previous.value.get("state") if previous is not None else _state_hash([], [])
    changed = bool(new or cleared) or before != state
    if not to:
        return DigestResult(False, "no administrator e-mail (Settings)", **counts)
    if not changed and not (force or cfg.digest_always):
        return DigestResult(False, "nothing changed since the last digest", **counts)
    body = await _render(
        "mail/digest.txt",
        day=f"{now:%Y-%m-%d}",
        new=[finding_json(f, base) for f in new],
        cleared=[finding_json(f, base) for f in cleared],
        due=due,
        waiting=waiting,
        base_url=base,
        signature=general.signature,
    )
    subject = (
        f"certmgr daily digest {now:%Y-%m-%d}: {len(new)} new, {len(cleared)} cleared, "
        f"{len(due)} renewals due, {len(waiting)} deployments waiting"
    )
    async with db.transaction() as s:
        await enqueue_email(s, to, subject, body, "digest", now)
        await enqueue_webhooks(s, "digest", {"day": f"{now:%Y-%m-%d}", **counts}, now)
        for f in new:
            row = await s.get(Finding, f.id)
            if row is not None:
                row.digested_open = True
                row.digested_clear = row.digested_clear or row.state == "cleared"
        for f in cleared:
            row = await s.get(Finding, f.id)
            if row is not None:
                row.digested_clear = True
        rec = await s.get(SettingRecord, DIGEST_STATE_KEY)
        if rec is None:
            rec = SettingRecord(key=DIGEST_STATE_KEY, value={}, updated_at=now)
            s.add(rec)
        rec.value = {"state": state, "at": now.isoformat()}
        rec.updated_at, rec.updated_by = now, actor.name
        audit(s, actor, "notify.digest", "email", "", counts, clock=clock)
    return DigestResult(True, "sent", **counts)


async def _render(name: str, **values: Any) -> str:
    """Render a mail template in a thread (the loader reads the file)."""

    def render() -> str:
        return text_templates().get_template(name).render(**values)

    return await asyncio.to_thread(render)


def _state_hash(due: list[int], waiting: list[tuple[int, str, bool]]) -> str:
    return hashlib.sha256(json.dumps([due, waiting]).encode()).hexdigest()
