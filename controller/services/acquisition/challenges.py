"""HTTP-01 through the database: any process may order, whichever controller owns port 80 answers."""

from __future__ import annotations

import datetime as dt
import re
import weakref
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import delete

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AcmeChallenge
from certmgr.shared.clock import Clock, SystemClock

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{10,200}$")
CHALLENGE_TTL = dt.timedelta(hours=2)

# Answers this process published, per database: the responder serves them without a query
# (a CA fetches each token several times, from several vantage points). Answers another
# controller published are still read from the database.
_PUBLISHED: weakref.WeakKeyDictionary[Database, dict[str, str]] = weakref.WeakKeyDictionary()


def _published(db: Database) -> dict[str, str]:
    return _PUBLISHED.setdefault(db, {})


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
        _published(self._db)[token] = value

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        """Remove it again."""
        _published(self._db).pop(token, None)
        async with self._db.transaction() as s:
            await s.execute(delete(AcmeChallenge).where(AcmeChallenge.token == token))


def responder_app(db: Database) -> web.Application:
    """A plain-HTTP app answering ``/.well-known/acme-challenge/{token}`` from the database."""

    async def answer(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not _TOKEN.match(token):
            raise web.HTTPNotFound()
        value = _published(db).get(token)
        if value is None:
            async with db.reader() as s:
                row = await s.get(AcmeChallenge, token)
            if row is None:
                raise web.HTTPNotFound()
            value = row.key_authorization
        return web.Response(text=value, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/.well-known/acme-challenge/{token}", answer)
    return app
