"""Start-up subscriptions between capabilities: who follows acquisition's "current certificate switched".

Called once by every entry point that runs services (the web application, the CLI's database,
the scheduler); subscribing again changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from certmgr.controller.services._events import (
    CERTIFICATE_SWITCHED,
    CERTIFICATES_CHANGED,
    CertificatesChanged,
    CertificateSwitched,
    FollowUp,
)

if TYPE_CHECKING:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.vault import MasterKey
    from certmgr.shared.clock import Clock


async def _auto_install(
    db: Database, vault: MasterKey, event: CertificateSwitched, clock: Clock
) -> FollowUp:
    # lazy: agents' packaging (nacl, envelopes) loads only when a certificate switches, not per CLI start
    from certmgr.controller.services.agents.auto_install import install_after_switch

    return await install_after_switch(db, vault, event, clock)


async def _findings_now(db: Database, event: CertificatesChanged, clock: Clock) -> None:
    """Judge the changed definitions at once: findings opened or cleared now, alerts queued."""
    # lazy: alerts load the outbox (aiohttp); only a certificate change needs them, not every CLI start
    from certmgr.controller.services.monitoring.config import load_monitor_config
    from certmgr.controller.services.monitoring.findings import refresh_findings
    from certmgr.controller.services.notification.alerts import alert_changes

    cfg = await load_monitor_config(db)
    changes = await refresh_findings(db, clock, cfg, definition_ids=event.definition_ids)
    await alert_changes(db, clock, changes)


async def _findings_after_switch(
    db: Database, vault: MasterKey, event: CertificateSwitched, clock: Clock
) -> FollowUp:
    await _findings_now(db, CertificatesChanged((event.definition_id,), event.actor), clock)
    return FollowUp()


def subscribe_all() -> None:
    """Subscribe agent auto-install and the findings of monitoring to certificate changes."""
    CERTIFICATE_SWITCHED.subscribe(_auto_install)
    CERTIFICATE_SWITCHED.subscribe(_findings_after_switch)
    CERTIFICATES_CHANGED.subscribe(_findings_now)
