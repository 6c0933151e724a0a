"""``certmgr agent-token`` and ``certmgr agent list|approve|revoke|rotate-key``: the handlers (parsers in ``agent_cmd``)."""

from __future__ import annotations

import datetime as dt

from certmgr.controller.cli.base import CommandContext, table
from certmgr.controller.services.agents.enrolment import create_enrollment_token, set_status
from certmgr.controller.services.agents.identity import rotate_controller_key
from certmgr.controller.services.agents.inventory import list_agents
from certmgr.shared.clock import SystemClock


async def _token(ctx: CommandContext) -> int:
    a = ctx.args
    url = (
        ctx.settings.public_url
        if a.controller_url is None
        else ("" if a.controller_url == "none" else a.controller_url)
    )
    token = await create_enrollment_token(
        await ctx.db(),
        ctx.actor,
        SystemClock(),
        controller_url=url,
        ca_dir=ctx.settings.ca_dir,
        name_hint=a.name,
        ttl=dt.timedelta(hours=a.hours),
        auto_approve=not a.manual_approval,
        vault=ctx.vault,
    )
    ctx.print(token)
    return 0


async def _rotate(ctx: CommandContext) -> int:
    done = await rotate_controller_key(await ctx.db(), ctx.vault, ctx.actor, SystemClock())
    if ctx.args.json:
        ctx.print_json(
            {
                "old_sha256": done.old_sha256,
                "new_sha256": done.new_sha256,
                "rotations": done.rotations,
            }
        )
        return 0
    ctx.print(
        f"controller key {done.old_sha256[:16]}… replaced by {done.new_sha256[:16]}…; agents move "
        "to it on their next call. Make new enrolment tokens, and queue again any install sent "
        "before now."
    )
    return 0


async def _list(ctx: CommandContext) -> int:
    rows = await list_agents(await ctx.db())
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "hostname": r.hostname,
                    "version": r.version,
                    "status": r.status,
                    "last_seen_at": r.last_seen_at,
                    "targets": r.targets,
                }
                for r in rows
            ]
        )
        return 0
    ctx.print(
        table(
            [
                (
                    r.id,
                    r.name,
                    r.hostname,
                    r.version,
                    r.status,
                    r.last_seen_at.strftime("%Y-%m-%d %H:%M") if r.last_seen_at else "-",
                    len(r.targets),
                )
                for r in rows
            ],
            ["ID", "NAME", "HOST", "VERSION", "STATUS", "LAST SEEN", "TARGETS"],
        )
    )
    return 0


async def _approve(ctx: CommandContext) -> int:
    agent = await set_status(
        await ctx.db(), ctx.actor, ctx.args.agent_id, "approved", SystemClock()
    )
    ctx.print(f"agent #{agent.id} {agent.name} approved")
    return 0


async def _revoke(ctx: CommandContext) -> int:
    agent = await set_status(await ctx.db(), ctx.actor, ctx.args.agent_id, "revoked", SystemClock())
    ctx.print(f"agent #{agent.id} {agent.name} revoked")
    return 0
