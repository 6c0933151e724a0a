"""``certmgr import FILE...``: the parsers (handlers in ``import_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run


def register(sub: Any) -> None:
    """Add the command to the parser."""
    p = sub.add_parser(
        "import",
        help="import certificates, chains and keys (PEM, DER, PKCS#7, PKCS#12, JKS, JCEKS)",
        description="Import certificates. A FILE may be a folder: every file in it is imported. "
        "With --from-server, the certificate a server serves is imported (no private key) with "
        "a monitoring-only deployment at that server.",
    )
    add_home(p)
    add_json(p)
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument(
        "--from-server",
        default=None,
        metavar="HOST[:PORT]",
        help="import the certificate this server serves (port 443 unless given)",
    )
    p.add_argument(
        "--sni", default=None, metavar="NAME", help="with --from-server: the SNI to send"
    )
    p.add_argument(
        "--starttls",
        default=None,
        choices=("smtp", "imap", "pop3", "ftp", "ldap", "postgres"),
        help="with --from-server: speak this protocol's STARTTLS first",
    )
    p.add_argument(
        "--key", action="append", default=[], metavar="F", help="private key file (repeatable)"
    )
    p.add_argument(
        "--chain",
        action="append",
        default=[],
        metavar="F",
        help="chain / CA certificates file (repeatable)",
    )
    p.add_argument(
        "--password-file",
        default=None,
        metavar="F",
        help="passphrase of the files (PKCS#12, keystore, encrypted PEM)",
    )
    p.add_argument(
        "--key-password-file",
        default=None,
        metavar="F",
        help="passphrase of the keys when it differs from the store's",
    )
    p.add_argument(
        "--name", default=None, help="name of the certificate definition (one certificate only)"
    )
    p.add_argument(
        "--accept-unverified",
        action="store_true",
        help="make a certificate current even when its signature does not verify with its issuer "
        "(without this it is stored flagged and never made current)",
    )
    p.set_defaults(handler=run("import_run", "_import"))
