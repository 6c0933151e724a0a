"""``certmgr config check``: validate ``config.toml``: the parser (handler in ``config_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("config", help="the home's config.toml")
    c = p.add_subparsers(dest="config_command", metavar="ACTION")
    c.required = True
    q = c.add_parser(
        "check", help="list every problem in config.toml, each with its line (exit 0: none)"
    )
    add_home(q)
    add_json(q)
    q.add_argument(
        "--file", default=None, metavar="PATH", help="check this file instead of the home's"
    )
    q.set_defaults(handler=run("config_run", "_check"))
