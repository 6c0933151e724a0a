"""``certmgr deployment edit|monitoring|retire``: the parsers (handlers in ``deployment_change_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run
from certmgr.controller.domain.software import DELIVERIES


def register_changes(d: Any) -> None:
    """Add ``edit``, ``monitoring`` and ``retire`` to the ``deployment`` subcommands."""
    q = d.add_parser("edit", help="change server, check host/port/SNI, delivery, admin e-mail")
    add_home(q)
    add_json(q)
    q.add_argument("deployment", metavar="DEPLOYMENT")
    q.add_argument("--server", default=None, help="server name")
    q.add_argument("--check", default=None, metavar="HOST[:PORT]", help="where to check")
    q.add_argument("--sni", default=None)
    q.add_argument("--delivery", default=None, choices=DELIVERIES)
    q.add_argument("--admin-email", default=None)
    q.add_argument("--name", default=None)
    q.add_argument("--notes", default=None)
    q.set_defaults(handler=run("deployment_change_run", "_edit"))
    q = d.add_parser("monitoring", help="switch scheduled monitoring of a deployment on or off")
    add_home(q)
    add_json(q)
    q.add_argument("deployment", metavar="DEPLOYMENT")
    q.add_argument("state", choices=["on", "off"])
    q.set_defaults(handler=run("deployment_change_run", "_monitoring"))
    q = d.add_parser("retire", help="retire a deployment (the server is gone); history kept")
    add_home(q)
    add_json(q)
    q.add_argument("deployment", metavar="DEPLOYMENT")
    q.add_argument("--reason", default="")
    q.set_defaults(handler=run("deployment_change_run", "_retire"))
