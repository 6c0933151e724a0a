"""``certmgr agent-token`` and ``certmgr agent list|approve|revoke|rotate-key``: the parsers (handlers in ``agent_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


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
    p.set_defaults(handler=run("agent_run", "_token"))
    p = sub.add_parser("agent", help="enrolled agents")
    a = p.add_subparsers(dest="agent_command", metavar="ACTION")
    a.required = True
    q = a.add_parser("list", help="list agents")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("agent_run", "_list"))
    for verb in ("approve", "revoke"):
        q = a.add_parser(verb, help=f"{verb} an agent")
        add_home(q)
        q.add_argument("agent_id", type=int)
        q.set_defaults(handler=run("agent_run", "_approve" if verb == "approve" else "_revoke"))
    q = a.add_parser(
        "rotate-key",
        help="replace the controller's signing key (agents follow, announced by the old key)",
    )
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("agent_run", "_rotate"))
