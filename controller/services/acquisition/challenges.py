"""HTTP-01 through the database: any process may order, whichever controller owns port 80 answers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import delete

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AcmeChallenge
from certmgr.shared.clock import Clock, SystemClock

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{10,200}$")
CHALLENGE_TTL = dt.timedelta(hours=2)


class DbHttp01Solver:
    """Publishes HTTP-01 key authorizations in the ``acme_challenges`` table."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        """Use ``db`` for the responses."""
        self._db = db
        self._clock = clock or SystemClock()

    def supports(self, domain: str) -> Sequence[str]:
        """HTTP-01 for every non-wildcard name."""
        return () if domain.startswith("*.") else ("http-01",)

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        """Store the key authorization (visible to every controller replica at once)."""
        now = self._clock.now()
        async with self._db.transaction() as s:
            await s.execute(
                delete(AcmeChallenge).where(AcmeChallenge.created_at < now - CHALLENGE_TTL)
            )
            await s.merge(
                AcmeChallenge(token=token, key_authorization=value, domain=domain, created_at=now)
            )

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        """Remove it again."""
        async with self._db.transaction() as s:
            await s.execute(delete(AcmeChallenge).where(AcmeChallenge.token == token))


def responder_app(db: Database) -> web.Application:
    """A plain-HTTP app answering ``/.well-known/acme-challenge/{token}`` from the database."""

    async def answer(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not _TOKEN.match(token):
            raise web.HTTPNotFound()
        async with db.reader() as s:
            row = await s.get(AcmeChallenge, token)
        if row is None:
            raise web.HTTPNotFound()
        return web.Response(text=row.key_authorization, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/.well-known/acme-challenge/{token}", answer)
    return app
