"""``certmgr ca info|list|show-cacert|gen-crl|setup|import-cert|issue|revoke|retire``: the handlers (parsers in ``ca_cmd``)."""

from __future__ import annotations

import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from certmgr.controller.cli.base import CommandContext, read_input_file, table
from certmgr.controller.services.acquisition.private_ca import (
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
from certmgr.controller.services.deployment.oneclick import make_ca_installer
from certmgr.controller.views import certificate_json
from certmgr.shared.clock import SystemClock


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
    out = await make_ca_installer(await ctx.db(), ctx.actor, ctx.settings.home, SystemClock())
    if ctx.args.out:
        Path(ctx.args.out).write_bytes(out.read_bytes())
        Path(ctx.args.out).chmod(0o755)
    ctx.print(
        f"CA certificate installer written to {out} (run it on a host; --uninstall removes the certificate again)"
    )
    return 0
