"""Post/redirect/get for secrets: a handler holds a new secret, the page it redirects to shows it once.

See :mod:`certmgr.controller.services.admin.reveal`. The secret waits sealed in the server-side
session, never in the URL or a cookie; a reload of the page finds nothing more to show.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certmgr.controller.services.admin.reveal import hold_secret, take_secret
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.render import redirect


async def hold_and_redirect(
    request: web.Request,
    location: str,
    kind: str,
    values: dict[str, Any],
    message: str | None = None,
) -> web.HTTPSeeOther:
    """Keep ``values`` for the page ``kind`` and return the 303 to ``location`` (to raise)."""
    ctx = ctx_of(request)
    if ctx.session is not None:
        await hold_secret(ctx.db, ctx.vault, ctx.session.sid, kind, values)
    return redirect(request, location, message)


async def take(request: web.Request, kind: str) -> dict[str, Any] | None:
    """The secret held for page ``kind`` (now dropped), or None."""
    ctx = ctx_of(request)
    if ctx.session is None:
        return None
    return await take_secret(ctx.db, ctx.vault, ctx.session.sid, kind)
