"""Per-request context: who is acting, and the application's collaborators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.acquisition.private_ca import CaContext
from certmgr.controller.settings import Settings
from certmgr.controller.vault import MasterKey
from certmgr.controller.web.session import SessionData
from certmgr.shared.clock import Clock

if TYPE_CHECKING:
    from certmgr.controller.services.admin.users import User


@dataclass
class RequestContext:
    """What a handler needs; set by the auth middleware."""

    db: Database
    vault: MasterKey
    clock: Clock
    settings: Settings
    address: str
    user: User | None = None
    actor: Actor | None = None
    session: SessionData | None = None
    via_api: bool = False

    @property
    def csrf(self) -> str:
        """The CSRF token of the session ("" without one)."""
        return self.session.csrf if self.session else ""

    def require_actor(self) -> Actor:
        """The signed-in actor.

        Raises:
            HTTPUnauthorized: Nobody is signed in.
        """
        if self.actor is None:
            raise web.HTTPUnauthorized()
        return self.actor


REQUEST_CONTEXT: web.RequestKey[RequestContext] = web.RequestKey("certmgr.ctx", RequestContext)


def ctx_of(request: web.Request) -> RequestContext:
    """The context the middleware attached (created lazily for public routes)."""
    ctx = request.get(REQUEST_CONTEXT)
    if ctx is None:
        app = request.app
        ctx = RequestContext(
            db=app[appkeys.DB],
            vault=app[appkeys.VAULT],
            clock=app[appkeys.CLOCK],
            settings=app[appkeys.SETTINGS],
            address=request.remote or "",
        )
        request[REQUEST_CONTEXT] = ctx
    return ctx


def ca_context(request: web.Request) -> CaContext:
    """Where the private CA writes its files, and the CRL URL it puts into certificates."""
    s = ctx_of(request).settings
    return CaContext(s.ca_dir, s.effective_crl_url)
