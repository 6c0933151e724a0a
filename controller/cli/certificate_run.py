"""``certmgr certificate list|show|export``: the handlers (parsers in ``certificate_cmd``)."""

from __future__ import annotations

import sys

from certmgr.controller.cli.base import CommandContext, table
from certmgr.controller.services.certificates.browse import (
    certificates_by_expiry,
    find_certificate,
    pem_of,
)
from certmgr.controller.views import certificate_json, chain_summary_json
from certmgr.shared.pki.fingerprint import colon_hex
from certmgr.shared.text import escape_text


async def _list(ctx: CommandContext) -> int:
    rows = await certificates_by_expiry(await ctx.db(), include_ca=ctx.args.all)
    if ctx.args.json:
        ctx.print_json([certificate_json(c) for c in rows])
        return 0
    ctx.print(
        table(
            [
                (
                    c.id,
                    c.common_name or c.subject,
                    c.not_after.strftime("%Y-%m-%d"),
                    c.key_label,
                    "yes" if c.private_key_id else "no",
                    c.sha256[:16],
                )
                for c in rows
            ],
            ["ID", "SUBJECT", "EXPIRES", "KEY", "PRIVKEY", "SHA-256"],
        )
    )
    return 0


async def _show(ctx: CommandContext) -> int:
    view = await find_certificate(await ctx.db(), ctx.args.certificate)
    c, chain = view.certificate, view.chain
    if ctx.args.pem:
        sys.stdout.write(pem_of([c, *chain]).decode())
        return 0
    data = certificate_json(c)
    data["chain"] = chain_summary_json(chain)
    if ctx.args.json:
        ctx.print_json(data)
        return 0
    ctx.print(f"Certificate #{c.id}")
    ctx.print(f"  subject      {escape_text(c.subject)}")
    ctx.print(f"  SANs         {escape_text(', '.join(c.sans))}")
    ctx.print(f"  issuer       {escape_text(c.issuer)}")
    ctx.print(f"  serial       {c.serial_hex}")
    ctx.print(f"  valid        {c.not_before:%Y-%m-%d %H:%M} to {c.not_after:%Y-%m-%d %H:%M} UTC")
    ctx.print(
        f"  key          {c.key_label}{' (private key in repository)' if c.private_key_id else ''}"
    )
    ctx.print(f"  SHA-256      {colon_hex(c.sha256)}")
    ctx.print(f"  SHA-1        {colon_hex(c.sha1)}")
    if c.signature_problem:
        ctx.print(f"  signature    {escape_text(c.signature_problem)}")
    for i, r in enumerate(chain):
        ctx.print(f"  chain[{i}]     {escape_text(r.subject)}")
    return 0
