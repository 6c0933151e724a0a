"""``certmgr agent-token`` and ``certmgr agent list|approve|revoke|rotate-key``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from certmgr.controller.cli.base import CommandContext, add_home, add_json, table
from certmgr.controller.services.agents import create_enrollment_token, list_agents, set_status
from certmgr.shared.clock import SystemClock


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser(
        "agent-token", help="make a single-use enrolment token for 'certmgr-agent enroll'"
    )
    add_home(p)
    p.add_argument("--name", default="", help="name the agent gets")
    p.add_argument("--hours", type=float, default=24.0, help="lifetime (default 24 hours)")
    p.add_argument(
        "--controller-url",
        default=None,
        help="URL agents use (default: the console URL; 'none' = discover by zeroconf)",
    )
    p.add_argument(
        "--manual-approval", action="store_true", help="the agent waits until an admin approves it"
    )
    p.set_defaults(handler=_token)
    p = sub.add_parser("agent", help="enrolled agents")
    a = p.add_subparsers(dest="agent_command", metavar="ACTION")
    a.required = True
    q = a.add_parser("list", help="list agents")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=_list)
    for verb in ("approve", "revoke"):
        q = a.add_parser(verb, help=f"{verb} an agent")
        add_home(q)
        q.add_argument("agent_id", type=int)
        q.set_defaults(handler=_approve if verb == "approve" else _revoke)
    q = a.add_parser(
        "rotate-key",
        help="replace the controller's signing key (agents follow, announced by the old key)",
    )
    add_home(q)
    add_json(q)
    q.set_defaults(handler=_rotate)


async def _token(ctx: CommandContext) -> int:
    from certmgr.controller.server import ca_sha256

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
        ca_sha256=ca_sha256(ctx.settings),
        name_hint=a.name,
        ttl=dt.timedelta(hours=a.hours),
        auto_approve=not a.manual_approval,
        vault=ctx.vault,
    )
    ctx.print(token)
    return 0


async def _rotate(ctx: CommandContext) -> int:
    from certmgr.controller.services.signing import rotate_controller_key

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
    db = await ctx.db()
    async with db.reader() as s:
        rows = await list_agents(s)
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
