"""``certmgr ca info|list|show-cacert|gen-crl|setup|import-cert|issue|revoke|retire``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from certmgr.controller.cli.base import CommandContext, add_home, add_json, read_input_file, table
from certmgr.controller.issuers.private_ca import REASONS
from certmgr.controller.services.private_ca import (
    PUBLISHING,
    IssueRequest,
    ca_certificate_pem,
    ca_info,
    crl_file,
    generate_crl,
    import_ca_certificate,
    issue_for_definitions,
    retire_ca,
    revoke,
    setup_root,
    setup_subordinate,
    subject_in_use,
)
from certmgr.controller.views import certificate_json
from certmgr.shared.clock import SystemClock


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
        q.set_defaults(handler=_info)

    q = csub.add_parser(
        "retire", help="retire a superseded CA: it stops revoking and publishing its CRL"
    )
    add_home(q)
    q.add_argument("ca_id", type=int, metavar="ID")
    q.set_defaults(handler=_retire)

    q = csub.add_parser("show-cacert", help="print the active CA certificate (and chain) as PEM")
    add_home(q)
    q.set_defaults(handler=_show_cacert)

    q = csub.add_parser("gen-crl", help="sign a new CRL (written to <home>/ca/crl.pem and crl.der)")
    add_home(q)
    q.add_argument("--out", default=None, help="also write the PEM CRL here")
    q.set_defaults(handler=_gen_crl)

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
    q.set_defaults(handler=_setup)

    q = csub.add_parser(
        "import-cert", help="activate the subordinate CA with its signed certificate"
    )
    add_home(q)
    q.add_argument("file", metavar="FILE")
    q.add_argument("--chain", default=None, metavar="F", help="the higher CA's chain")
    q.set_defaults(handler=_import_cert)

    q = csub.add_parser("issue", help="issue a server certificate for a definition")
    add_home(q)
    add_json(q)
    q.add_argument("definition", metavar="DEFINITION", help="id or name")
    q.add_argument(
        "--csr", default=None, metavar="F", help="sign this CSR instead of generating a key"
    )
    q.add_argument("--days", type=int, default=None, help="lifetime in days (default 200)")
    q.set_defaults(handler=_issue)

    q = csub.add_parser(
        "installer",
        help="make a one-click installer that adds the CA certificate to a host's trust store",
    )
    add_home(q)
    q.add_argument("--out", default=None, help="also copy it here")
    q.set_defaults(handler=_installer)

    q = csub.add_parser("revoke", help="revoke a certificate issued by the CA")
    add_home(q)
    q.add_argument("certificate", metavar="SHA256|SERIAL")
    q.add_argument("--reason", default="unspecified", choices=sorted(REASONS))
    q.set_defaults(handler=_revoke)


async def _info(ctx: CommandContext) -> int:
    infos = await ca_info(await ctx.db())
    if ctx.args.json:
        ctx.print_json([i.__dict__ for i in infos])
        return 0
    ctx.print(
        table(
            [
                (
                    i.id,
                    i.status,
                    i.kind,
                    i.subject,
                    i.key_type,
                    f"{i.not_after:%Y-%m-%d}" if i.not_after else "-",
                    i.issued,
                    i.revoked,
                    i.crl_number,
                )
                for i in infos
            ],
            ["ID", "STATUS", "KIND", "SUBJECT", "KEY", "EXPIRES", "ISSUED", "REVOKED", "CRL#"],
        )
    )
    cactx = ctx.ca_context
    for i in infos:
        if i.status == "active" and i.sha256:
            ctx.print(f"\nActive CA SHA-256: {i.sha256}")
        if i.status in PUBLISHING:
            ctx.print(
                f"CRL of CA #{i.id}: {crl_file(cactx.ca_dir, i.id, 'pem')} "
                f"(served at {cactx.crl_url_for(i.id)})"
            )
    return 0


async def _retire(ctx: CommandContext) -> int:
    ca = await retire_ca(await ctx.db(), ctx.actor, ctx.args.ca_id)
    ctx.print(f"CA #{ca.id} {ca.subject} is retired: it no longer revokes or publishes a CRL")
    return 0


async def _show_cacert(ctx: CommandContext) -> int:
    sys.stdout.write((await ca_certificate_pem(await ctx.db())).decode())
    return 0


async def _gen_crl(ctx: CommandContext) -> int:
    from cryptography.hazmat.primitives.serialization import Encoding

    crl = await generate_crl(await ctx.db(), ctx.vault, ctx.actor, ctx.ca_context)
    if ctx.args.out:
        Path(ctx.args.out).write_bytes(crl.public_bytes(Encoding.PEM))
    ctx.print(f"CRL written to {ctx.settings.ca_dir / 'crl.pem'} ({len(list(crl))} revoked)")
    return 0


async def _setup(ctx: CommandContext) -> int:
    a = ctx.args
    db = await ctx.db()
    if a.subordinate:
        ca = await setup_subordinate(
            db, ctx.vault, ctx.actor, subject=a.subject, key_type=a.key_type
        )
        if a.csr_out:
            Path(a.csr_out).write_text(ca.csr_pem, encoding="ascii")
            ctx.print(
                f"Subordinate CA CSR written to {a.csr_out}; have it signed, then run 'certmgr ca import-cert FILE'"
            )
        else:
            sys.stdout.write(ca.csr_pem)
        return 0
    if await subject_in_use(db, a.subject):
        ctx.err.write(
            f"certmgr: warning: a CA of this home already has the name {a.subject!r}; "
            "clients tell CAs apart by name, so give each one its own "
            "(for example with a date in the common name)\n"
        )
    ca = await setup_root(
        db,
        ctx.vault,
        ctx.actor,
        ctx.ca_context,
        subject=a.subject,
        key_type=a.key_type,
        days=a.days,
    )
    ctx.print(
        f"New root CA #{ca.id} {ca.subject} is active; the CA before it still revokes what it "
        "issued and publishes its CRL until 'certmgr ca retire ID'"
    )
    return 0


async def _import_cert(ctx: CommandContext) -> int:
    a = ctx.args
    data = read_input_file(a.file)
    chain = read_input_file(a.chain) if a.chain else None
    ca = await import_ca_certificate(
        await ctx.db(),
        ctx.vault,
        ctx.actor,
        ctx.ca_context,
        data,
        name=Path(a.file).name,
        chain_data=chain,
    )
    ctx.print(f"Subordinate CA #{ca.id} {ca.subject} is active")
    return 0


async def _issue(ctx: CommandContext) -> int:
    a = ctx.args
    csr = read_input_file(a.csr, what="CSR file") if a.csr else None
    (row,) = await issue_for_definitions(
        await ctx.db(),
        ctx.vault,
        ctx.actor,
        ctx.ca_context,
        [IssueRequest(a.definition, csr_pem=csr, days=a.days)],
    )
    if a.json:
        ctx.print_json(certificate_json(row))
    else:
        ctx.print(f"issued certificate #{row.id} serial {row.serial_hex} sha256 {row.sha256}")
    return 0


async def _revoke(ctx: CommandContext) -> int:
    rev = await revoke(
        await ctx.db(),
        ctx.vault,
        ctx.actor,
        ctx.ca_context,
        ctx.args.certificate,
        reason=ctx.args.reason,
    )
    ctx.print(f"revoked serial {rev.serial_hex} ({rev.reason}); new CRL written")
    return 0


async def _installer(ctx: CommandContext) -> int:
    from certmgr.controller.services.oneclick import make_ca_installer

    out = await make_ca_installer(await ctx.db(), ctx.actor, ctx.settings.home, SystemClock())
    if ctx.args.out:
        Path(ctx.args.out).write_bytes(out.read_bytes())
        Path(ctx.args.out).chmod(0o755)
    ctx.print(
        f"CA certificate installer written to {out} (run it on a host; --uninstall removes the certificate again)"
    )
    return 0
