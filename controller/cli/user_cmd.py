"""``certmgr user add|list``: the parsers (handlers in ``user_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("user", help="console and API users")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION")
    usub.required = True
    q = usub.add_parser(
        "add", help="add a user (prints a one-time password unless --password-file)"
    )
    add_home(q)
    q.add_argument("username")
    q.add_argument("--role", choices=["admin", "user"], default="user")
    q.add_argument("--email", default="")
    q.add_argument("--password-file", default=None)
    q.set_defaults(handler=run("user_run", "_add"))
    q = usub.add_parser("list", help="list users")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("user_run", "_list"))
