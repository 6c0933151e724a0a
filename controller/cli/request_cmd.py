"""``certmgr request new|list|show|cancel|order|receive|csr`` and ``certmgr acme account add|list``: the parsers (handlers in ``request_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import REQUEST_REF, add_home, add_json, run


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("request", help="certificate requests (acquisition: new or renewal)")
    r = p.add_subparsers(dest="request_command", metavar="ACTION")
    r.required = True
    _request_new(r)
    _request_list(r)
    _request_show(r)
    _request_csr(r)
    _request_cancel(r)
    _request_retry(r)
    _request_order(r)
    _request_receive(r)

    p = sub.add_parser("acme", help="ACME accounts")
    a = p.add_subparsers(dest="acme_command", metavar="ACTION")
    a.required = True
    acc = a.add_parser("account", help="ACME accounts").add_subparsers(
        dest="acme_account_command", metavar="ACTION"
    )
    acc.required = True
    _acme_account_add(acc)
    _acme_account_list(acc)


def _request_new(r: Any) -> None:
    """``certmgr request new``: its options."""
    q = r.add_parser(
        "new", help="start a request: key and CSR, then (private CA, ACME) the certificate"
    )
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION")
    q.add_argument(
        "--wait",
        action="store_true",
        help="wait until the certificate is received and current (private CA, ACME)",
    )
    q.add_argument(
        "--reuse-key",
        type=int,
        default=None,
        metavar="KEY_ID",
        help="reuse an existing private key",
    )
    q.add_argument(
        "--key-on-agent",
        type=int,
        default=None,
        metavar="AGENT_ID",
        help="the agent makes the key and CSR; the private key never leaves its server",
    )
    q.set_defaults(handler=run("request_run", "_new"))


def _request_list(r: Any) -> None:
    """``certmgr request list``: its options."""
    q = r.add_parser("list", help="list requests")
    add_home(q)
    add_json(q)
    q.add_argument("--open", action="store_true", help="only ongoing requests")
    q.add_argument(
        "--state",
        default=None,
        help="only requests in this state (draft, key-and-csr, ordered, received, done, cancelled, ...)",
    )
    q.add_argument("--issuer", default=None, choices=["private-ca", "acme", "vendor"])
    q.add_argument(
        "--age",
        default=None,
        choices=["day", "week", "month", "older"],
        help="created in the last day, week, month, or older than 30 days",
    )
    q.add_argument("--page", type=int, default=1, help="with a filter: page of 500, newest first")
    q.set_defaults(handler=run("request_run", "_list"))


def _request_show(r: Any) -> None:
    """``certmgr request show``: its options."""
    q = r.add_parser("show", help="show a request and its history")
    add_home(q)
    add_json(q)
    q.add_argument("request", metavar="REQUEST", help=REQUEST_REF)
    q.set_defaults(handler=run("request_run", "_show"))


def _request_csr(r: Any) -> None:
    """``certmgr request csr``: its options."""
    q = r.add_parser("csr", help="print the request's CSR (PEM)")
    add_home(q)
    q.add_argument("request", metavar="REQUEST", help=REQUEST_REF)
    q.set_defaults(handler=run("request_run", "_csr"))


def _request_cancel(r: Any) -> None:
    """``certmgr request cancel``: its options."""
    q = r.add_parser("cancel", help="cancel an open request")
    add_home(q)
    q.add_argument("request", metavar="REQUEST", help=REQUEST_REF)
    q.add_argument("--reason", default="")
    q.set_defaults(handler=run("request_run", "_cancel"))


def _request_retry(r: Any) -> None:
    """``certmgr request retry``: its options."""
    q = r.add_parser("retry", help="try the issuer again now (private CA, ACME)")
    add_home(q)
    add_json(q)
    q.add_argument("request", metavar="REQUEST", help=REQUEST_REF)
    q.set_defaults(handler=run("request_run", "_retry"))


def _request_order(r: Any) -> None:
    """``certmgr request order``: its options."""
    q = r.add_parser("order", help="record a manual vendor order")
    add_home(q)
    q.add_argument("request", metavar="REQUEST", help=REQUEST_REF)
    q.add_argument("--number", required=True, help="the vendor's order number")
    q.add_argument("--date", default=None, help="order date YYYY-MM-DD (default today)")
    q.add_argument("--notes", default="", help="tracking notes")
    q.add_argument("--product", default=None, help="product id from the catalogue")
    q.add_argument(
        "--vendor-account",
        default=None,
        metavar="ACCOUNT",
        help="the vendor account (id or name) the order was placed with",
    )
    q.set_defaults(handler=run("request_run", "_order"))


def _request_receive(r: Any) -> None:
    """``certmgr request receive``: its options."""
    q = r.add_parser("receive", help="receive the vendor's certificate (any importable format)")
    add_home(q)
    q.add_argument("request", metavar="REQUEST", help=REQUEST_REF)
    q.add_argument("file", metavar="FILE")
    q.add_argument("--chain", action="append", default=[], metavar="F")
    q.add_argument("--password-file", default=None)
    q.add_argument(
        "--hold-until",
        default=None,
        metavar="WHEN",
        help="store it but make it current only at YYYY-MM-DD[THH:MM] (UTC)",
    )
    q.set_defaults(handler=run("request_run", "_receive"))


def _acme_account_add(acc: Any) -> None:
    """``certmgr acme account add``: its options."""
    q = acc.add_parser("add", help="register an account at an ACME directory")
    add_home(q)
    q.add_argument("name")
    q.add_argument(
        "--directory",
        required=True,
        help="directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory",
    )
    q.add_argument("--email", default="")
    q.add_argument("--eab-kid", default="")
    q.add_argument("--eab-hmac-file", default=None)
    q.add_argument(
        "--ca-bundle", default=None, help="extra CA certificates to trust for the directory's HTTPS"
    )
    q.add_argument("--profile", default="")
    q.add_argument(
        "--dns-server", default="", help="RFC 2136 server HOST:PORT for DNS-01 (wildcards)"
    )
    q.add_argument("--dns-zone", default="")
    q.add_argument("--dns-key-name", default="")
    q.add_argument("--dns-key-file", default=None, help="file holding the TSIG secret (base64)")
    q.set_defaults(handler=run("request_run", "_acme_add"))


def _acme_account_list(acc: Any) -> None:
    """``certmgr acme account list``: its options."""
    q = acc.add_parser("list", help="list ACME accounts")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("request_run", "_acme_list"))
