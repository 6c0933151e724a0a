"""``GET /readyz``: may this controller take traffic (``/healthz`` only says it is alive)?

Ready means: the database answers, its schema is at the newest migration, the scheduler's loop
runs (when ``[scheduler] enabled``), and the controller is not stopping. Each check is listed
with its outcome; any failure answers 503, so a load balancer or orchestrator stops sending
requests and agents' long-polls here.
"""

from __future__ import annotations

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.shared.errors import ConfigurationError


async def readyz(request: web.Request) -> web.Response:
    """Readiness with one line per check (JSON); 200 when ready, else 503."""
    app = request.app
    db = app[appkeys.DB]
    checks: dict[str, str] = {}
    try:
        await db.current_revision()
        checks["database"] = "ok"
        try:
            await db.check_ready()
            checks["migrations"] = "ok"
        except ConfigurationError as err:
            checks["migrations"] = str(err)
    except ConfigurationError as err:
        checks["database"] = str(err)
        checks["migrations"] = "unknown (no database)"
    except Exception as err:  # noqa: BLE001 - any driver failure means "not reachable"
        checks["database"] = f"cannot open the database ({err.__class__.__name__})"
        checks["migrations"] = "unknown (no database)"
    scheduler = app.get(appkeys.SCHEDULER)
    if not app[appkeys.SETTINGS].scheduler_enabled:
        checks["scheduler"] = "disabled in config.toml (this replica runs no jobs)"
    elif scheduler is None or not scheduler.alive():
        checks["scheduler"] = "not running"
    else:
        checks["scheduler"] = "ok"
    stopping = app.get(appkeys.STOPPING)
    checks["accepting"] = "stopping" if stopping is not None and stopping.is_set() else "ok"
    ready = all(v == "ok" or v.startswith("disabled") for v in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )
