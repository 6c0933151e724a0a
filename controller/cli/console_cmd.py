"""``certmgr console show|use``: the console's own certificate: the parsers (handlers in ``console_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("console", help="the console's own HTTPS certificate")
    c = p.add_subparsers(dest="console_command", metavar="ACTION")
    c.required = True
    q = c.add_parser("show", help="which definition's certificate the console serves")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("console_run", "_show"))
    q = c.add_parser(
        "use",
        help="serve another definition's current certificate (every running replica switches)",
    )
    add_home(q)
    add_json(q)
    q.add_argument("definition", help="definition name or id (its key must be in the repository)")
    q.set_defaults(handler=run("console_run", "_use"))
