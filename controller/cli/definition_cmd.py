"""``certmgr definition new|list|show|edit|archive|restore|delete|switch|rollback|hold``: the parsers (handlers in ``definition_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("definition", help="certificate definitions (what a server needs)")
    dsub = p.add_subparsers(dest="definition_command", metavar="ACTION")
    dsub.required = True
    _definition_new(dsub)
    _definition_list(dsub)
    _definition_clone(dsub)
    _definition_change_issuer(dsub)
    _definition_show(dsub)
    _register_changes(dsub)


def _definition_new(dsub: Any) -> None:
    """``certmgr definition new``: its options."""
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
    q.set_defaults(handler=run("definition_change_run", "_new"))


def _definition_list(dsub: Any) -> None:
    """``certmgr definition list``: its options."""
    q = dsub.add_parser("list", help="list definitions")
    add_home(q)
    add_json(q)
    q.add_argument("--all", action="store_true", help="archived definitions too")
    q.set_defaults(handler=run("definition_run", "_list"))


def _definition_clone(dsub: Any) -> None:
    """``certmgr definition clone``: its options."""
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


def _definition_change_issuer(dsub: Any) -> None:
    """``certmgr definition change-issuer``: its options."""
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


def _definition_show(dsub: Any) -> None:
    """``certmgr definition show``: its options."""
    q = dsub.add_parser("show", help="show one definition")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION", help="id or name")
    q.set_defaults(handler=run("definition_run", "_show"))


def _register_changes(dsub: Any) -> None:
    """``edit|archive|restore|delete`` and ``switch|rollback|hold|unhold`` (handlers in ``definition_change_run``)."""
    q = dsub.add_parser(
        "edit", help="change names, subject, requirements, key type, renewal, issuer, monitoring"
    )
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION", help="id or name")
    q.add_argument("--name", default=None, help="new name")
    q.add_argument("--cn", default=None, help="common name")
    q.add_argument(
        "--san",
        action="append",
        default=None,
        help="subject alternative name (repeatable; replaces the list)",
    )
    q.add_argument("--key-type", default=None)
    q.add_argument("--issuer", default=None, choices=["private-ca", "acme", "vendor"])
    q.add_argument("--org", default=None, help="organization (O)")
    q.add_argument("--ou", default=None, help="organizational unit (OU)")
    q.add_argument("--locality", default=None)
    q.add_argument("--state", default=None)
    q.add_argument("--country", default=None)
    q.add_argument("--requestor", default=None)
    q.add_argument("--notes", default=None)
    q.add_argument("--acme-account", default=None, help="ACME account name")
    q.add_argument("--vendor-account", type=int, default=None, metavar="ID")
    q.add_argument(
        "--validation", default=None, choices=["DV", "OV", "EV", "none"], help="'none' clears it"
    )
    q.add_argument("--vendor", default=None, help="preferred vendor ('' clears it)")
    q.add_argument("--product", default=None, help="catalogue product id ('' clears it)")
    q.add_argument("--renew-days-before", type=int, default=None, help="0 goes back to the default")
    q.add_argument(
        "--monitoring",
        default=None,
        choices=["on", "off"],
        help="switch monitoring of all its deployments",
    )
    q.set_defaults(handler=run("definition_change_run", "_edit"))
    for action, text in (
        ("archive", "retire a definition: no renewals, no monitoring, off daily lists"),
        ("restore", "bring an archived definition back"),
        ("delete", "delete a definition nothing refers to"),
        ("rollback", "make the previous current certificate current again"),
        ("unhold", "cancel a held switch"),
    ):
        q = dsub.add_parser(action, help=text)
        add_home(q)
        add_json(q)
        q.add_argument("definition", metavar="DEFINITION", help="id or name")
        if action == "archive":
            q.add_argument("--reason", default="")
        q.set_defaults(handler=run("definition_change_run", f"_{action}"))
    q = dsub.add_parser("switch", help="make one of its valid certificates current")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION", help="id or name")
    q.add_argument("certificate", type=int, metavar="CERTIFICATE_ID")
    q.set_defaults(handler=run("definition_change_run", "_switch"))
    q = dsub.add_parser("hold", help="make one of its certificates current at a later time")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION", help="id or name")
    q.add_argument("certificate", type=int, metavar="CERTIFICATE_ID")
    q.add_argument("--until", required=True, help="when to switch: YYYY-MM-DD[THH:MM] (UTC)")
    q.set_defaults(handler=run("definition_change_run", "_hold"))
