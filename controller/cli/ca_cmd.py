"""``certmgr ca info|list|show-cacert|gen-crl|setup|import-cert|issue|revoke|retire``: the parsers (handlers in ``ca_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run
from certmgr.controller.domain.values import REVOCATION_REASONS as REASONS


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("ca", help="the built-in private CA")
    csub = p.add_subparsers(dest="ca_command", metavar="ACTION")
    csub.required = True

    for verb in ("info", "list"):
        q = csub.add_parser(
            verb, help="show the CAs: active, superseded (still revoking), retired, pending"
        )
        add_home(q)
        add_json(q)
        q.set_defaults(handler=run("ca_run", "_info"))

    q = csub.add_parser(
        "retire", help="retire a superseded CA: it stops revoking and publishing its CRL"
    )
    add_home(q)
    q.add_argument("ca_id", type=int, metavar="ID")
    q.set_defaults(handler=run("ca_run", "_retire"))

    q = csub.add_parser("show-cacert", help="print the active CA certificate (and chain) as PEM")
    add_home(q)
    q.set_defaults(handler=run("ca_run", "_show_cacert"))

    q = csub.add_parser("gen-crl", help="sign a new CRL (written to <home>/ca/crl.pem and crl.der)")
    add_home(q)
    q.add_argument("--out", default=None, help="also write the PEM CRL here")
    q.set_defaults(handler=run("ca_run", "_gen_crl"))

    q = csub.add_parser("setup", help="create a new root CA, or a subordinate CA's key and CSR")
    add_home(q)
    q.add_argument("--subject", required=True, help='e.g. "CN=Example Root CA,O=Example,C=DE"')
    q.add_argument("--key-type", default="ec-p384")
    q.add_argument("--days", type=int, default=3650, help="root lifetime in days")
    q.add_argument(
        "--subordinate", action="store_true", help="make a CSR for a higher CA instead of a root"
    )
    q.add_argument(
        "--csr-out", default=None, help="write the subordinate CSR here (default: stdout)"
    )
    q.set_defaults(handler=run("ca_run", "_setup"))

    q = csub.add_parser(
        "import-cert", help="activate the subordinate CA with its signed certificate"
    )
    add_home(q)
    q.add_argument("file", metavar="FILE")
    q.add_argument("--chain", default=None, metavar="F", help="the higher CA's chain")
    q.set_defaults(handler=run("ca_run", "_import_cert"))

    q = csub.add_parser("issue", help="issue a server certificate for a definition")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION", help="id or name")
    q.add_argument(
        "--csr", default=None, metavar="F", help="sign this CSR instead of generating a key"
    )
    q.add_argument("--days", type=int, default=None, help="lifetime in days (default 200)")
    q.set_defaults(handler=run("ca_run", "_issue"))

    q = csub.add_parser(
        "installer",
        help="make a one-click installer that adds the CA certificate to a host's trust store",
    )
    add_home(q)
    q.add_argument("--out", default=None, help="also copy it here")
    q.set_defaults(handler=run("ca_run", "_installer"))

    q = csub.add_parser("revoke", help="revoke a certificate issued by the CA")
    add_home(q)
    q.add_argument("certificate", metavar="SHA256|SERIAL")
    q.add_argument("--reason", default="unspecified", choices=sorted(REASONS))
    q.set_defaults(handler=run("ca_run", "_revoke"))
