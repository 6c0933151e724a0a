"""``create_app(settings, vault)``: the aiohttp application (console, APIs, public PKI files)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from importlib.resources import files

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from certmgr.controller import __version__, appkeys
from certmgr.controller.background import Background
from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import all_tables_metadata
from certmgr.controller.domain.events import event_text, finding_kind_text
from certmgr.controller.domain.state_labels import state_badge, state_choices, state_label
from certmgr.controller.domain.status import check_badge, validity_badge
from certmgr.controller.effects import InstallFollowUp
from certmgr.controller.scheduler.jobs import controller_jobs
from certmgr.controller.scheduler.runner import Scheduler
from certmgr.controller.services.acquisition.catalogue import use_home_catalogue
from certmgr.controller.services.admin.settings import ensure_metrics_token
from certmgr.controller.services.agents.wakeups import wakeups_for
from certmgr.controller.services.agents.work import WorkPickups
from certmgr.controller.settings import Settings
from certmgr.controller.subscriptions import subscribe_all
from certmgr.controller.vault import MasterKey
from certmgr.controller.web import agent_api, metrics, middleware, public, security, static
from certmgr.controller.web.api import accounts as api_accounts
from certmgr.controller.web.api import acquisition as api_acquisition
from certmgr.controller.web.api import admin as api_admin
from certmgr.controller.web.api import definitions as api_definitions
from certmgr.controller.web.api import deployments as api_deployments
from certmgr.controller.web.api import discovery as api_discovery
from certmgr.controller.web.api import lifecycle as api_lifecycle
from certmgr.controller.web.api import monitoring as api_monitoring
from certmgr.controller.web.api import openapi
from certmgr.controller.web.console import (
    account,
    acme_accounts,
    admin,
    agents,
    certificates,
    dashboard,
    definitions,
    deployment_list,
    deployments,
    discovery,
    imports,
    lifecycle,
    monitoring,
    notifications,
    requests,
    tasks,
    users,
    vendors,
)
from certmgr.controller.web.ipacl import IpAllowList
from certmgr.controller.web.session import SessionCodec
from certmgr.shared.clock import Clock, SystemClock

API_GROUPS = [
    api_definitions.api,
    api_deployments.api,
    api_acquisition.api,
    api_accounts.api,
    api_lifecycle.api,
    api_monitoring.api,
    api_discovery.api,
    api_admin.api,
]
CONSOLE_ROUTES = (
    account.routes,
    acme_accounts.routes,
    dashboard.routes,
    definitions.routes,
    lifecycle.routes,
    vendors.routes,
    certificates.routes,
    imports.routes,
    admin.routes,
    users.routes,
    deployment_list.routes,
    deployments.routes,
    agents.routes,
    requests.routes,
    monitoring.routes,
    discovery.routes,
    notifications.routes,
    tasks.routes,
    metrics.routes,
)


@functools.cache
def template_environment() -> Environment:
    """Jinja2 with autoescape on for every template (one per process: compiled templates are kept)."""
    root = files("certmgr.webui").joinpath("templates")
    env = Environment(
        loader=FileSystemLoader(str(root)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # one vocabulary on every screen: check outcomes, certificate validity, event codes in words
    env.globals.update(
        check_badge=check_badge,
        state_badge=state_badge,
        state_choices=state_choices,
        state_label=state_label,
        validity_badge=validity_badge,
        event_text=event_text,
        finding_kind_text=finding_kind_text,
    )
    return env


def _compile_templates(env: Environment) -> int:
    """Compile every console template once (in a thread at start-up, not on the first request)."""
    names = env.list_templates(extensions=("html",))
    for name in names:
        env.get_template(name)
    return len(names)


async def _templates(app: web.Application) -> None:
    await asyncio.to_thread(_compile_templates, app[appkeys.TEMPLATES])


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    """The job scheduler: always there for "run now"; its loop only with ``[scheduler] enabled``."""
    settings = app[appkeys.SETTINGS]
    scheduler = Scheduler(
        app[appkeys.DB],
        app[appkeys.VAULT],
        app[appkeys.CLOCK],
        controller_jobs(),
        settings=settings,
        holder=settings.scheduler_replica_id or None,
        tick=settings.scheduler_tick_seconds,
    )
    app[appkeys.SCHEDULER] = scheduler
    if settings.scheduler_enabled:
        scheduler.start()
    yield
    await scheduler.aclose()


def create_app(
    settings: Settings, vault: MasterKey, *, clock: Clock | None = None, db: Database | None = None
) -> web.Application:
    """Build the application; the database opens and closes with it (``cleanup_ctx``)."""
    subscribe_all()
    all_tables_metadata()  # every model now: none is first loaded inside a request, on the loop
    use_home_catalogue(settings.home)
    app = web.Application(
        middlewares=[
            middleware.errors,
            middleware.security_headers,
            security.ip_allow_list,
            security.authenticate,
        ],
        client_max_size=20 * 1024 * 1024,
    )
    app[appkeys.SETTINGS] = settings
    app[appkeys.VAULT] = vault
    app[appkeys.CLOCK] = clock or SystemClock()
    app[appkeys.TEMPLATES] = template_environment()
    app[appkeys.IPACL] = IpAllowList(settings.ip_acl_path)
    app[appkeys.SESSIONS] = SessionCodec(vault)
    app[appkeys.STOPPING] = asyncio.Event()  # set by server.drain at SIGTERM (/readyz: 503)
    if db is not None:
        app[appkeys.DB] = db

    async def database(app: web.Application) -> AsyncIterator[None]:
        own = db is None
        if own:
            # the driver loads and the SQLite file is made on first use: off the loop
            app[appkeys.DB] = await asyncio.to_thread(Database, settings.database_url)
            await app[appkeys.DB].check_ready()
        # homes made before /metrics needed a token get one on their first start
        await ensure_metrics_token(app[appkeys.DB], vault, app[appkeys.CLOCK])
        yield
        if own:
            await app[appkeys.DB].dispose()

    app.cleanup_ctx.append(database)
    app.on_startup.append(_templates)

    async def agent_wakeups(app: web.Application) -> AsyncIterator[None]:
        wakeups = wakeups_for(app[appkeys.DB])
        app[appkeys.AGENT_WAKEUPS] = wakeups
        app[appkeys.AGENT_PICKUPS] = WorkPickups(app[appkeys.DB], app[appkeys.CLOCK])
        await wakeups.start()
        yield
        await wakeups.stop()

    app.cleanup_ctx.append(agent_wakeups)

    async def background(app: web.Application) -> AsyncIterator[None]:
        app[appkeys.BACKGROUND] = tasks = Background()
        app[appkeys.AFTER_INSTALL] = InstallFollowUp(
            app[appkeys.DB], vault, app[appkeys.CLOCK], tasks
        )
        yield
        await tasks.aclose()

    app.cleanup_ctx.append(background)
    app.cleanup_ctx.append(_scheduler)
    public.setup(app)
    agent_api.setup(app)
    openapi.setup(app, API_GROUPS, version=__version__)
    for routes in CONSOLE_ROUTES:
        app.router.add_routes(routes)
    static.setup(app)
    return app
