"""The HTTP-01 responder's lifetime in a process (``serve`` keeps it up; a CLI order borrows the port)."""

from __future__ import annotations

import errno
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from certmgr.controller.db.engine import Database
from certmgr.controller.services.acquisition.challenges import DbHttp01Solver, responder_app
from certmgr.controller.settings import Settings, parse_hostport
from certmgr.shared.errors import ConfigurationError

logger = logging.getLogger(__name__)


@asynccontextmanager
async def http01_responder(
    settings: Settings, db: Database, *, required: bool = False
) -> AsyncIterator[DbHttp01Solver | None]:
    """Serve HTTP-01 answers from the database on ``[acme] http01_listen`` while the block runs.

    When the port is already taken (a running ``certmgr serve`` answers from the same
    database) the solver is still returned. Without a configured address, None.

    Raises:
        ConfigurationError: The address is unusable (other than "in use").
    """
    if not settings.http01_listen:
        yield None
        return
    host, port = parse_hostport(settings.http01_listen)
    runner = web.AppRunner(responder_app(db), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port, backlog=1024).start()
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise ConfigurationError(
                    f"cannot listen for ACME HTTP-01 on {host}:{port}: {err.strerror}"
                ) from err
            logger.info(
                "HTTP-01 port %s:%s is in use; assuming a running controller answers challenges",
                host,
                port,
            )
        yield DbHttp01Solver(db)
    finally:
        await runner.cleanup()
