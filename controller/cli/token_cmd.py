"""``certmgr token create|list|revoke``: API bearer tokens: the parsers (handlers in ``token_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("token", help="API bearer tokens")
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION")
    tsub.required = True
    q = tsub.add_parser("create", help="create a token for a user (printed once)")
    add_home(q)
    add_json(q)
    q.add_argument("--user", required=True)
    q.add_argument("--name", default="cli")
    q.add_argument(
        "--days",
        type=int,
        default=None,
        help="expire after this many days (default: the settings' lifetime, 90; 0: never)",
    )
    q.set_defaults(handler=run("token_run", "_create"))
    q = tsub.add_parser("list", help="list tokens with expiry and last use")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("token_run", "_list"))
    q = tsub.add_parser("revoke", help="revoke a token by id")
    add_home(q)
    q.add_argument("id", type=int)
    q.set_defaults(handler=run("token_run", "_revoke"))
