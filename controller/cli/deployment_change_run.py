"""``certmgr deployment edit|monitoring|retire``: the handlers (parsers in ``deployment_change_cmd``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.base import CommandContext
from certmgr.controller.services.deployment.deployment_changes import (
    DeploymentChanges,
    edit_deployment,
    retire_deployment,
    set_deployment_monitoring,
)
from certmgr.controller.services.deployment.views import deployment_json
from certmgr.controller.settings import parse_hostport
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import ConfigurationError, ValidationError


def _done(ctx: CommandContext, dep: Any, text: str) -> int:
    if ctx.args.json:
        ctx.print_json(deployment_json(dep))
    else:
        ctx.print(text)
    return 0


async def _edit(ctx: CommandContext) -> int:
    a = ctx.args
    host, port = (None, None)
    if a.check:
        value = a.check.strip()
        try:
            host, given = parse_hostport(value, default_port=443)
        except ConfigurationError as err:
            raise ValidationError(f"--check: {err}", field="check") from None
        # a bare host keeps the deployment's port
        port = given if "]:" in value or value.count(":") == 1 else None
    changes = DeploymentChanges(
        server_name=a.server,
        check_host=host,
        check_port=port,
        sni=a.sni,
        delivery=a.delivery,
        admin_email=a.admin_email,
        name=a.name,
        notes=a.notes,
    )
    dep = await edit_deployment(await ctx.db(), ctx.actor, a.deployment, changes, SystemClock())
    return _done(ctx, dep, f"deployment #{dep.id} changed")


async def _monitoring(ctx: CommandContext) -> int:
    on = ctx.args.state == "on"
    dep = await set_deployment_monitoring(
        await ctx.db(), ctx.actor, ctx.args.deployment, on, SystemClock()
    )
    return _done(ctx, dep, f"deployment #{dep.id}: monitoring {'on' if on else 'off'}")


async def _retire(ctx: CommandContext) -> int:
    dep = await retire_deployment(
        await ctx.db(), ctx.actor, ctx.args.deployment, SystemClock(), reason=ctx.args.reason
    )
    return _done(ctx, dep, f"deployment #{dep.id} retired (no monitoring, no installs)")
