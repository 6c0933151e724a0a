"""``certmgr init``, ``serve``, ``rotate-master-key`` and ``db upgrade``: the parsers (handlers in ``home_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, run
from certmgr.controller.settings import DEFAULT_LISTEN


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser(
        "init", help="create a new home folder (config, master key, database, CA, admin user)"
    )
    add_home(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing home (it is moved to a backup first)",
    )
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        help=f"console address HOST:PORT (default {DEFAULT_LISTEN})",
    )
    p.add_argument(
        "--database-url", default=None, help="database URL (default: SQLite file in the home)"
    )
    p.add_argument(
        "--admin-password-file",
        default=None,
        help="read the admin password from this file instead of generating one",
    )
    p.add_argument(
        "--ca-subject",
        default=None,
        help="subject of the private root CA (default: a unique name, "
        '"CN=certmgr Private Root CA <date-time>,O=certmgr")',
    )
    p.add_argument("--ca-key-type", default="ec-p384", help="key type of the private root CA")
    p.set_defaults(handler=run("home_run", "_init"))

    p = sub.add_parser("serve", help="run the controller (HTTPS console and APIs)")
    add_home(p)
    p.add_argument("--listen", default=None, help="HOST:PORT (default from config.toml)")
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="believe X-Forwarded-For from this proxy address or network (repeatable; default: never)",
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="log lines as text or one JSON object each (default: log_format in config.toml)",
    )
    p.set_defaults(handler=run("home_run", "_serve"))

    p = sub.add_parser(
        "rotate-master-key", help="make a new master key and re-seal every secret with it"
    )
    add_home(p)
    p.add_argument(
        "--drop-old", action="store_true", help="remove the old keys from the key file afterwards"
    )
    p.set_defaults(handler=run("home_run", "_rotate"))

    p = sub.add_parser("db", help="database maintenance")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    dsub.required = True
    q = dsub.add_parser("upgrade", help="apply pending schema migrations")
    add_home(q)
    q.set_defaults(handler=run("home_run", "_db_upgrade"))
