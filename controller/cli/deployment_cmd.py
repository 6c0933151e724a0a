"""``certmgr deployment new|list|show|prepare|request|check|done|check-code`` and ``certmgr check``: the parsers (handlers in ``deployment_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import DEPLOYMENT_REF, add_home, add_json, run
from certmgr.controller.cli.deployment_change_cmd import register_changes
from certmgr.controller.domain.software import DELIVERIES, SOFTWARE


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("deployment", help="deployments of a definition's certificate to servers")
    d = p.add_subparsers(dest="deployment_command", metavar="ACTION")
    d.required = True
    register_changes(d)
    _deployment_new(d)
    _deployment_list(d)
    _deployment_show(d)
    _deployment_prepare(d)
    _deployment_request(d)
    _deployment_check(d)
    _deployment_done(d)
    _deployment_check_code(d)
    _deployment_install(d)
    _deployment_receipt(d)
    _deployment_check_key(d)
    _check_command(sub)


def _check_command(sub: Any) -> None:
    """``certmgr check``: a TLS endpoint from this machine, without a home."""
    p = sub.add_parser(
        "check", help="check a TLS endpoint from this machine (works without a home)"
    )
    p.add_argument("target", metavar="HOST[:PORT]")
    p.add_argument("--sni", default=None)
    p.add_argument(
        "--expect", default=None, metavar="SHA256", help="the certificate that should be served"
    )
    p.add_argument(
        "--starttls", default=None, choices=["smtp", "imap", "pop3", "ftp", "ldap", "postgres"]
    )
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument(
        "--deployment",
        type=int,
        default=None,
        help="with --key: print a result code for this deployment",
    )
    p.add_argument("--key", default=None, help="the deployment's check key (CMK1-...)")
    p.add_argument(
        "--ca-file",
        default=None,
        metavar="PEM",
        help="trust anchors (for example the private CA's root): a chain that reaches one "
        "is complete, and the anchor itself is never expected to be served",
    )
    p.add_argument(
        "--fingerprint-only",
        action="store_true",
        help="judge by the fingerprint alone (appliances): chain, validity and name become warnings",
    )
    add_json(p)
    p.set_defaults(handler=run("deployment_run", "_manual_check"))


def _deployment_new(d: Any) -> None:
    """``certmgr deployment new``: its options."""
    q = d.add_parser("new", help="add a deployment (deploy information)")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION")
    q.add_argument("--server", required=True, help="server name (the install target)")
    q.add_argument("--software", default="nginx", choices=sorted(SOFTWARE))
    q.add_argument("--delivery", default="conventional", choices=DELIVERIES)
    q.add_argument(
        "--check",
        default=None,
        metavar="HOST[:PORT]",
        help="where to check (default: the server name and the software's port)",
    )
    q.add_argument("--sni", default="")
    q.add_argument("--admin-email", default="")
    q.add_argument("--no-monitoring", action="store_true")
    q.add_argument("--agent", type=int, default=None, help="agent id (delivery agent)")
    q.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="install-target parameter (repeatable)",
    )
    q.set_defaults(handler=run("deployment_run", "_new"))


def _deployment_list(d: Any) -> None:
    """``certmgr deployment list``: its options."""
    q = d.add_parser("list", help="list deployments")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("deployment_run", "_list"))


def _deployment_show(d: Any) -> None:
    """``certmgr deployment show``: its options."""
    q = d.add_parser("show", help="show one deployment with its history")
    add_home(q)
    add_json(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    q.set_defaults(handler=run("deployment_run", "_show"))


def _deployment_prepare(d: Any) -> None:
    """``certmgr deployment prepare``: its options."""
    q = d.add_parser(
        "prepare", help="build the install package (conventional: a zip in the document folder)"
    )
    add_home(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    q.add_argument(
        "--passphrase-file", default=None, help="use this passphrase instead of a random one"
    )
    q.add_argument(
        "--out",
        default=None,
        metavar="PATH",
        help="also write the package file (zip, or the one-click executable) to PATH; "
        "when PATH is an existing folder, into it under the package's own name",
    )
    q.add_argument(
        "--passphrase-file-out",
        default=None,
        metavar="FILE",
        help="write the new passphrase to FILE (created, mode 0600) instead of printing it",
    )
    q.add_argument(
        "--protect",
        action="store_true",
        help="conventional: seal the files inside an unpacker executable (Argon2id passphrase)",
    )
    q.set_defaults(handler=run("deployment_run", "_prepare"))


def _deployment_request(d: Any) -> None:
    """``certmgr deployment request``: its options."""
    q = d.add_parser("request", help="e-mail the install request to the server administrator")
    add_home(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    q.add_argument("--preview", action="store_true", help="print the e-mail without sending")
    q.set_defaults(handler=run("deployment_run", "_request"))


def _deployment_check(d: Any) -> None:
    """``certmgr deployment check``: its options."""
    q = d.add_parser("check", help="run the deploy check (TLS handshake, fingerprint, chain)")
    add_home(q)
    add_json(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    q.add_argument(
        "--done", action="store_true", help="confirm the deployment when the check passes"
    )
    q.add_argument("--timeout", type=float, default=10.0)
    q.set_defaults(handler=run("deployment_run", "_check"))


def _deployment_done(d: Any) -> None:
    """``certmgr deployment done``: its options."""
    q = d.add_parser(
        "done", help="finish: done (after a passing check), --unchecked, --manual or --installed"
    )
    add_home(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    g = q.add_mutually_exclusive_group()
    g.add_argument("--unchecked", action="store_true", help="continue without checking")
    g.add_argument("--manual", action="store_true", help="the installation was checked by hand")
    g.add_argument(
        "--installed", action="store_true", help="the administrator reports it installed"
    )
    q.add_argument("--note", default="")
    q.set_defaults(handler=run("deployment_run", "_done"))


def _deployment_check_code(d: Any) -> None:
    """``certmgr deployment check-code``: its options."""
    q = d.add_parser("check-code", help="record a result code from 'certmgr check' run elsewhere")
    add_home(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    q.add_argument("code", metavar="CODE")
    q.set_defaults(handler=run("deployment_run", "_check_code"))


def _deployment_install(d: Any) -> None:
    """``certmgr deployment install``: its options."""
    q = d.add_parser("install", help="Try auto-install: send the package to the deployment's agent")
    add_home(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    q.set_defaults(handler=run("deployment_run", "_install"))


def _deployment_receipt(d: Any) -> None:
    """``certmgr deployment receipt``: its options."""
    q = d.add_parser("receipt", help="record the receipt code printed by a one-click installer")
    add_home(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    q.add_argument("code", metavar="CODE")
    q.set_defaults(handler=run("deployment_run", "_receipt"))


def _deployment_check_key(d: Any) -> None:
    """``certmgr deployment check-key``: its options."""
    q = d.add_parser(
        "check-key",
        help="issue a key for one 'certmgr check --key' on a host the controller cannot reach "
        "(single use, expires in 48 hours; a new key retires the older one)",
    )
    add_home(q)
    q.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_REF)
    q.set_defaults(handler=run("deployment_run", "_check_key"))
