"""``certmgr certificate list|show|export``: the parsers (handlers in ``certificate_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("certificate", help="certificates in the repository")
    csub = p.add_subparsers(dest="certificate_command", metavar="ACTION")
    csub.required = True

    q = csub.add_parser("list", help="list certificates")
    add_home(q)
    add_json(q)
    q.add_argument("--all", action="store_true", help="include CA certificates")
    q.set_defaults(handler=run("certificate_run", "_list"))

    q = csub.add_parser("show", help="show one certificate (id, SHA-256 or its prefix)")
    add_home(q)
    add_json(q)
    q.add_argument("certificate", metavar="CERTIFICATE")
    q.add_argument("--pem", action="store_true", help="print the certificate and its chain as PEM")
    q.set_defaults(handler=run("certificate_run", "_show"))
