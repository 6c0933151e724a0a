"""``certmgr vendor account add|list|edit|delete`` and ``certmgr product list|select``: the parsers (handlers in ``vendor_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run
from certmgr.controller.domain.values import VALIDATION_LEVELS as LEVELS


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("vendor", help="commercial CA vendor accounts")
    v = p.add_subparsers(dest="vendor_command", metavar="ACTION")
    v.required = True
    acc = v.add_parser("account", help="vendor accounts").add_subparsers(
        dest="vendor_account_command", metavar="ACTION"
    )
    acc.required = True
    q = acc.add_parser("add", help="store a vendor account (password sealed)")
    add_home(q)
    q.add_argument("name")
    q.add_argument(
        "--vendor", action="append", required=True, help="vendor this login is for (repeatable)"
    )
    q.add_argument("--login", default="")
    q.add_argument("--password-file", default=None)
    q.add_argument("--email", default="")
    q.add_argument("--notes", default="")
    q.set_defaults(handler=run("vendor_run", "_add"))
    q = acc.add_parser("list", help="list vendor accounts")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("vendor_run", "_list"))
    q = acc.add_parser("edit", help="change a vendor account (a new password is sealed)")
    add_home(q)
    q.add_argument("account", metavar="ACCOUNT", help="id or name")
    q.add_argument("--name", default=None, help="new name")
    q.add_argument(
        "--vendor", action="append", default=None, help="vendor (repeatable; replaces the list)"
    )
    q.add_argument("--login", default=None)
    q.add_argument("--password-file", default=None, help="file holding the new password")
    q.add_argument("--clear-password", action="store_true", help="forget the stored password")
    q.add_argument("--email", default=None)
    q.add_argument("--notes", default=None)
    q.set_defaults(handler=run("vendor_run", "_edit"))
    q = acc.add_parser("delete", help="delete a vendor account no definition or request names")
    add_home(q)
    q.add_argument("account", metavar="ACCOUNT", help="id or name")
    q.set_defaults(handler=run("vendor_run", "_delete"))

    p = sub.add_parser("product", help="the product catalogue")
    pr = p.add_subparsers(dest="product_command", metavar="ACTION")
    pr.required = True
    q = pr.add_parser("list", help="products, optionally filtered")
    add_json(q)
    q.add_argument("--validation", choices=LEVELS, default=None)
    q.add_argument("--wildcard", action="store_true")
    q.add_argument(
        "--names", type=int, default=1, help="how many distinct names the certificate needs"
    )
    q.add_argument("--vendor", default="")
    q.set_defaults(handler=run("vendor_run", "_products"))
    q = pr.add_parser("select", help="products suitable for a definition")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION")
    q.set_defaults(handler=run("vendor_run", "_select"))
