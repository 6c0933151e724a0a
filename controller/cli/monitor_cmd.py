"""``certmgr monitor run|findings|jobs`` and ``certmgr report readiness``: the parsers (handlers in ``monitor_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("monitor", help="monitoring: run the checks, findings, scheduled jobs")
    m = p.add_subparsers(dest="monitor_command", metavar="ACTION")
    m.required = True
    q = m.add_parser("run", help="check every monitored deployment now (or one)")
    add_home(q)
    add_json(q)
    q.add_argument("--deployment", type=int, default=None, metavar="N", help="only this one")
    q.set_defaults(handler=run("monitor_run", "_run"))
    q = m.add_parser("findings", help="open findings (with --all: cleared ones too)")
    add_home(q)
    add_json(q)
    q.add_argument("--all", action="store_true", help="also cleared findings")
    q.set_defaults(handler=run("monitor_run", "_findings"))
    q = m.add_parser("jobs", help="scheduled jobs: next run, last result, who runs them")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("monitor_run", "_jobs"))
    p = sub.add_parser("report", help="reports")
    r = p.add_subparsers(dest="report_command", metavar="REPORT")
    r.required = True
    q = r.add_parser("readiness", help="readiness for 100-day (2027) and 47-day (2029) lifetimes")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("monitor_run", "_readiness"))
