"""``certmgr definition new|list|show``: the parsers (handlers in ``definition_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("definition", help="certificate definitions (what a server needs)")
    dsub = p.add_subparsers(dest="definition_command", metavar="ACTION")
    dsub.required = True

    q = dsub.add_parser("new", help="create a definition")
    add_home(q)
    add_json(q)
    q.add_argument("--name", required=True)
    q.add_argument("--cn", required=True, help="common name")
    q.add_argument(
        "--san", action="append", default=[], help="subject alternative name (repeatable)"
    )
    q.add_argument(
        "--key-type", default="ec-p256", help="ec-p256 | ec-p384 | rsa-2048 | rsa-3072 | rsa-4096"
    )
    q.add_argument("--issuer", default="private-ca", help="private-ca | acme | vendor")
    q.add_argument("--org", default="", help="organization (O)")
    q.add_argument("--ou", default="", help="organizational unit (OU)")
    q.add_argument("--locality", default="", help="locality (L)")
    q.add_argument("--state", default="", help="state or province (ST)")
    q.add_argument("--country", default="", help="two-letter country (C)")
    q.add_argument("--notes", default="")
    q.add_argument("--acme-account", default=None, help="ACME account name (issuer acme)")
    q.add_argument(
        "--validation",
        default=None,
        choices=["DV", "OV", "EV"],
        help="vendor products: validation level",
    )
    q.add_argument("--vendor", default="", help="vendor products: preferred vendor")
    q.add_argument(
        "--product", default=None, help="vendor products: product id from 'certmgr product list'"
    )
    q.add_argument(
        "--renew-days-before",
        type=int,
        default=None,
        help="renew this many days before expiry (default: when a third of the lifetime remains)",
    )
    q.set_defaults(handler=run("definition_run", "_new"))

    q = dsub.add_parser("list", help="list definitions")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("definition_run", "_list"))

    q = dsub.add_parser("clone", help="copy definitions (e.g. for a test system)")
    add_home(q)
    add_json(q)
    q.add_argument("definitions", nargs="*", metavar="DEFINITION")
    q.add_argument(
        "--prefix", default=None, help="also every definition whose name starts with this"
    )
    q.add_argument("--suffix", required=True, help="appended to the names, e.g. ' (test)'")
    q.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="move names under domain OLD to NEW (repeatable)",
    )
    q.add_argument("--issuer", default=None, help="issuer of the copies (default: the same)")
    q.set_defaults(handler=run("definition_bulk_run", "_clone"))

    q = dsub.add_parser(
        "change-issuer",
        help="move definitions to another issuer, product or vendor (and renew them)",
    )
    add_home(q)
    add_json(q)
    q.add_argument("definitions", nargs="*", metavar="DEFINITION")
    q.add_argument("--prefix", default=None)
    q.add_argument("--issuer", required=True, choices=["private-ca", "acme", "vendor"])
    q.add_argument("--product", default=None)
    q.add_argument("--vendor-account", type=int, default=None)
    q.add_argument("--acme-account", default=None)
    q.add_argument(
        "--renew",
        action="store_true",
        help="start a renewal for each (automatic issuers complete it)",
    )
    q.set_defaults(handler=run("definition_bulk_run", "_change_issuer"))

    q = dsub.add_parser("show", help="show one definition")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION", help="id or name")
    q.set_defaults(handler=run("definition_run", "_show"))
