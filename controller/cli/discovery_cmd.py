"""``certmgr discovery scan|list|show|import|report|settings``: the parsers (handlers in ``discovery_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run

_VERDICTS = ("all", "ok", "warning", "critical")
_MATCHES = ("all", "managed", "known-elsewhere", "outdated", "unknown")


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser(
        "discovery", help="discovery: scan networks for TLS certificates, judge, import"
    )
    m = p.add_subparsers(dest="discovery_command", metavar="ACTION")
    m.required = True
    _discovery_scan(m)
    _discovery_list(m)
    _discovery_show(m)
    _discovery_import(m)
    _discovery_report(m)
    _discovery_settings(m)


def _discovery_scan(m: Any) -> None:
    """``certmgr discovery scan``: its options."""
    q = m.add_parser(
        "scan",
        help="scan hosts, addresses, networks and ranges (inside the admin's scope) now",
        description="Targets: host names, addresses, CIDR networks (IPv4/IPv6), ranges "
        "(10.0.0.5-40), optionally HOST:PORT; --file reads them from a file. Nothing outside "
        "the scope set with 'discovery settings --scope' is contacted.",
    )
    add_home(q)
    add_json(q)
    q.add_argument("targets", nargs="*", metavar="TARGET")
    q.add_argument("--file", action="append", default=[], metavar="F", help="read targets from F")
    q.add_argument(
        "--ports", default=None, help="ports and ranges, e.g. 443,8443,9000-9010 (default: usual)"
    )
    q.add_argument(
        "--confirm-large", action="store_true", help="go ahead although above the size limit"
    )
    q.add_argument(
        "--precheck",
        action="store_true",
        help="kept for older scripts: every scan connect-scans first now",
    )
    q.add_argument(
        "--queue", action="store_true", help="only queue it for the controller's scheduler"
    )
    q.add_argument(
        "--starttls",
        action="append",
        default=[],
        metavar="PORT=PROTO",
        help="speak STARTTLS on another port too, e.g. 2525=smtp (smtp, imap, pop3, ftp, ldap, "
        "postgres; the well-known ports always are)",
    )
    q.set_defaults(handler=run("discovery_run", "_scan"))


def _discovery_list(m: Any) -> None:
    """``certmgr discovery list``: its options."""
    q = m.add_parser("list", help="past scans, newest first")
    add_home(q)
    add_json(q)
    q.add_argument("--limit", type=int, default=50)
    q.set_defaults(handler=run("discovery_run", "_list"))


def _discovery_show(m: Any) -> None:
    """``certmgr discovery show``: its options."""
    q = m.add_parser("show", help="the results of one scan (filters: --verdict, --match)")
    add_home(q)
    add_json(q)
    q.add_argument("scan", type=int, metavar="SCAN")
    q.add_argument("--verdict", choices=_VERDICTS, default="all")
    q.add_argument("--match", choices=_MATCHES, default="all")
    q.add_argument("--rule", default=None, help="only results breaking this policy rule")
    q.add_argument("--all", action="store_true", help="also results without TLS")
    q.set_defaults(handler=run("discovery_run", "_show"))


def _discovery_import(m: Any) -> None:
    """``certmgr discovery import``: its options."""
    q = m.add_parser(
        "import",
        help="import found certificates (no private key) with a monitoring-only deployment",
    )
    add_home(q)
    add_json(q)
    q.add_argument("results", nargs="*", type=int, metavar="RESULT", help="result ids (show)")
    q.add_argument("--scan", type=int, default=None, help="every matching result of this scan")
    q.add_argument(
        "--match", choices=_MATCHES, default="unknown", help="with --scan (default: unknown)"
    )
    q.set_defaults(handler=run("discovery_run", "_import"))


def _discovery_report(m: Any) -> None:
    """``certmgr discovery report``: its options."""
    q = m.add_parser("report", help="a scan's report: counts by verdict, match and rule")
    add_home(q)
    add_json(q)
    q.add_argument("scan", type=int, metavar="SCAN")
    q.add_argument("--csv", action="store_true", help="every TLS result as CSV")
    q.set_defaults(handler=run("discovery_run", "_report"))


def _discovery_settings(m: Any) -> None:
    """``certmgr discovery settings``: its options."""
    q = m.add_parser("settings", help="show or change the scope, size limit and schedule")
    add_home(q)
    add_json(q)
    q.add_argument("--scope", default=None, help="networks and names, comma-separated")
    q.add_argument("--size-limit", type=int, default=None)
    q.add_argument("--schedule-targets", default=None)
    q.add_argument("--schedule-ports", default=None)
    q.add_argument("--schedule-time", default=None, metavar="HH:MM")
    q.add_argument(
        "--schedule", choices=("on", "off"), default=None, help="scheduled scan on or off"
    )
    q.set_defaults(handler=run("discovery_run", "_settings"))
