"""The ``certmgr-agent`` command: ``enroll``, ``run``, ``status``, ``discover`` and ``check``.

Every failure is a :class:`~certmgr.shared.errors.CertmgrError` mapped here, once, to a message
on stderr and an exit code from the table shared by all three command lines
(``certmgr.shared.exitcodes``: 1 check found problems, 2 input, 3 not found, 4 conflict,
5 not allowed or revoked, 6 configuration or not enrolled, 9 probe, 10 controller unreachable).
Heavy modules are imported by the command that needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certmgr.agent import __version__
from certmgr.agent.settings import AgentSettings, load_settings
from certmgr.shared import exitcodes
from certmgr.shared.errors import CertmgrError

if TYPE_CHECKING:
    from certmgr.agent.runner import Runner

logger = logging.getLogger("certmgr.agent")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        help="agent.toml (default: $CERTMGR_AGENT_CONFIG, else /etc/certmgr-agent/agent.toml)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser = argparse.ArgumentParser(
        prog="certmgr-agent",
        description="certmgr agent: installs certificates pushed by a certmgr controller.",
    )
    parser.add_argument("--version", action="version", version=f"certmgr-agent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enroll = sub.add_parser("enroll", parents=[common], help="register with a controller")
    enroll.add_argument("--token", required=True, help="the enrolment token (cmenroll1.…)")
    enroll.add_argument("--controller", help="https://host:port (default: token, then zeroconf)")
    enroll.add_argument("--name", help="agent name (default: config, else the host name)")
    enroll.add_argument(
        "--zeroconf-interface",
        action="append",
        dest="interfaces",
        metavar="ADDRESS",
        help="IP address of an interface to browse zeroconf on (repeatable; default: all)",
    )
    enroll.add_argument(
        "--discovery-timeout", type=float, default=10.0, help="seconds to browse (default 10)"
    )
    enroll.add_argument("--force", action="store_true", help="replace an existing enrolment")

    sub.add_parser("run", parents=[common], help="poll the controller and install packages")

    status = sub.add_parser("status", parents=[common], help="show enrolment and targets")
    status.add_argument("--json", action="store_true", help="print JSON")

    disco = sub.add_parser(
        "discover", parents=[common], help="find this host's TLS listeners, send them to certmgr"
    )
    disco.add_argument(
        "--ports", default=None, help="ports and ranges (default: the usual TLS and STARTTLS set)"
    )
    disco.add_argument(
        "--address",
        action="append",
        default=[],
        help="another address of this host to scan (repeatable; loopback and the host name's "
        "addresses are always scanned)",
    )
    disco.add_argument("--dry-run", action="store_true", help="print, send nothing")
    disco.add_argument("--json", action="store_true", help="print JSON")

    check = sub.add_parser("check", parents=[common], help="check what a TLS server serves")
    check.add_argument("address", metavar="HOST[:PORT]", help="server to probe (port 443)")
    check.add_argument("--sni", help="server name to send (default: the host name)")
    check.add_argument("--expect", metavar="SHA256", help="the certificate that should be served")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    check.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``certmgr-agent``; return the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = load_settings(args.config)
        if args.command == "enroll":
            return _enroll(settings, args)
        if args.command == "run":
            return _run(settings)
        if args.command == "status":
            return _status(settings, as_json=args.json)
        if args.command == "discover":
            return _discover(settings, args)
        return _check(args)
    except CertmgrError as err:
        print(f"certmgr-agent: {err}", file=sys.stderr)
        return exitcodes.exit_code_for(err)
    except KeyboardInterrupt:
        return exitcodes.INTERRUPTED


def _discover(settings: AgentSettings, args: argparse.Namespace) -> int:
    # lazy: the scan engine is needed by this command only
    from certmgr.agent.discover import discover_here, local_addresses, send_discovery

    async def run() -> int:
        addresses = await asyncio.to_thread(local_addresses, args.address)
        upload = await discover_here(args.ports, addresses)
        if not args.dry_run:
            await send_discovery(settings, upload)
        if args.json:
            print(json.dumps({**upload.to_json(), "sent": not args.dry_run}, indent=2))
        else:
            for x in upload.listeners:
                where = f"[{x.address}]:{x.port}" if ":" in x.address else f"{x.address}:{x.port}"
                print(f"{where} {x.outcome} {x.protocol} {len(x.chain)} certificate(s)")
            sent = "not sent (dry run)" if args.dry_run else "sent to the controller"
            print(f"{len(upload.listeners)} listener(s) on {len(addresses)} address(es), {sent}")
        return 0

    return asyncio.run(run())


def _enroll(settings: AgentSettings, args: argparse.Namespace) -> int:
    # lazy: enrolment pulls in zeroconf and aiohttp; the other commands must not pay for them
    from certmgr.agent.enroll import enroll
    from certmgr.shared.protocol import parse_token

    token = parse_token(args.token)
    done = asyncio.run(
        enroll(
            settings,
            token,
            controller_url=args.controller,
            name=args.name,
            interfaces=args.interfaces,
            force=args.force,
            discovery_timeout=args.discovery_timeout,
        )
    )
    print(f"enrolled as agent {done.agent_id} with {done.controller_url}")
    print(f"pinned controller CA sha256 {done.ca_sha256}")
    print(f"state in {settings.state_dir}; now start 'certmgr-agent run'")
    return 0


def _import_runner() -> type[Runner]:
    # aiohttp parses the whole system CA bundle into two default SSL contexts when it is
    # imported (about 2 MB). The run loop trusts only the pinned controller CA and never uses
    # those contexts, so the bundle is hidden for that one import (then the variables are
    # restored, for the commands that targets run).
    names = ("SSL_CERT_FILE", "SSL_CERT_DIR")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, os.devnull))
    try:
        # lazy: see above; aiohttp must be imported with the CA bundle hidden
        from certmgr.agent import runner
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return runner.Runner


def _run(settings: AgentSettings) -> int:
    runner_type = _import_runner()

    async def run() -> int:
        # One worker thread: target operations never overlap, and memory stays small.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="certmgr-agent")
        )
        return await runner_type(settings).run()

    return asyncio.run(run())


def _status(settings: AgentSettings, *, as_json: bool) -> int:
    # lazy: status reads targets and state; start-up of the other commands stays small
    from certmgr.agent.status import gather_status, render_status

    report = gather_status(settings)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(render_status(report))
    return exitcodes.OK if report["enrolled"] else exitcodes.CONFIGURATION


def _check(args: argparse.Namespace) -> int:
    # lazy: the TLS probe and its dependencies are only for check
    from certmgr.agent.check import run_check

    outcome: dict[str, Any] = asyncio.run(
        run_check(args.address, sni=args.sni, expect=args.expect, timeout=args.timeout)
    )
    if args.json:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        for line in outcome["lines"]:
            print(line)
    return exitcodes.OK if outcome["ok"] else exitcodes.PROBLEMS_FOUND
