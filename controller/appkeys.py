"""Every ``web.AppKey`` of the controller application in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from jinja2 import Environment

if TYPE_CHECKING:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.settings import Settings
    from certmgr.controller.vault import MasterKey
    from certmgr.shared.clock import Clock

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
DB: web.AppKey[Database] = web.AppKey("db")
VAULT: web.AppKey[MasterKey] = web.AppKey("vault")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
TEMPLATES: web.AppKey[Environment] = web.AppKey("templates")

if TYPE_CHECKING:
    from certmgr.controller.web.ipacl import IpAllowList
    from certmgr.controller.web.session import SessionCodec

IPACL: web.AppKey[IpAllowList] = web.AppKey("ipacl")
SESSIONS: web.AppKey[SessionCodec] = web.AppKey("sessions")

if TYPE_CHECKING:
    from certmgr.controller.services.agents.wakeups import AgentWakeups

AGENT_WAKEUPS: web.AppKey[AgentWakeups] = web.AppKey("agent_wakeups")

if TYPE_CHECKING:
    from certmgr.controller.services.agents.work import WorkPickups

AGENT_PICKUPS: web.AppKey[WorkPickups] = web.AppKey("agent_pickups")

if TYPE_CHECKING:
    from certmgr.controller.scheduler.runner import Scheduler

SCHEDULER: web.AppKey[Scheduler] = web.AppKey("scheduler")

if TYPE_CHECKING:
    from certmgr.controller.background import Background

BACKGROUND: web.AppKey[Background] = web.AppKey("background")

if TYPE_CHECKING:
    from certmgr.controller.effects import InstallFollowUp

AFTER_INSTALL: web.AppKey[InstallFollowUp] = web.AppKey("after_install")

if TYPE_CHECKING:
    import asyncio

# set when the controller begins to stop: /readyz says 503 so a load balancer sends no more work
STOPPING: web.AppKey[asyncio.Event] = web.AppKey("stopping")
