"""Start-up subscriptions between capabilities: who follows acquisition's "current certificate switched".

Called once by every entry point that runs services (the web application, the CLI's database,
the scheduler); subscribing again changes nothing.
"""

from __future__ import annotations

from certmgr.controller.db.engine import Database
from certmgr.controller.services._events import (
    CERTIFICATE_SWITCHED,
    CertificateSwitched,
    FollowUp,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock


async def _auto_install(
    db: Database, vault: MasterKey, event: CertificateSwitched, clock: Clock
) -> FollowUp:
    # lazy: agents' packaging (nacl, envelopes) loads only when a certificate switches, not per CLI start
    from certmgr.controller.services.agents.auto_install import install_after_switch

    return await install_after_switch(db, vault, event, clock)


def subscribe_all() -> None:
    """Subscribe agent auto-install to "current certificate switched"."""
    CERTIFICATE_SWITCHED.subscribe(_auto_install)
