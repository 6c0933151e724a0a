"""``certmgr certificate list|show|export``: the handlers (parsers in ``certificate_cmd``)."""

from __future__ import annotations

import sys

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from certmgr.controller.cli.base import CommandContext, table
from certmgr.controller.db.models import Certificate
from certmgr.controller.services.certificates.store import chain_of
from certmgr.controller.views import certificate_json
from certmgr.shared.errors import NotFoundError
from certmgr.shared.pki.fingerprint import colon_hex, normalize_fingerprint
from certmgr.shared.pki.names import escape_text


async def find_certificate(ctx: CommandContext, ref: str) -> Certificate:
    """A certificate by id, SHA-256 or a unique SHA-256 prefix (at least 8 hex digits).

    Raises:
        NotFoundError: None or several match.
    """
    db = await ctx.db()
    async with db.reader() as s:
        if ref.isdigit() and len(ref) < 12:
            row = await s.get(Certificate, int(ref))
            if row is not None:
                return row
        fp = normalize_fingerprint(ref)
        if len(fp) >= 8:
            rows = (
                (
                    await s.execute(
                        select(Certificate).where(Certificate.sha256.like(fp + "%")).limit(2)
                    )
                )
                .scalars()
                .all()
            )
            if len(rows) == 1:
                return rows[0]
            if len(rows) > 1:
                raise NotFoundError(f"{ref!r} matches several certificates; give more digits")
    raise NotFoundError(f"no certificate {ref!r}")


async def _list(ctx: CommandContext) -> int:
    db = await ctx.db()
    async with db.reader() as s:
        q = select(Certificate).order_by(Certificate.not_after)
        if not ctx.args.all:
            q = q.where(Certificate.is_ca.is_(False))
        rows = (await s.execute(q)).scalars().all()
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
    c = await find_certificate(ctx, ctx.args.certificate)
    db = await ctx.db()
    async with db.reader() as s:
        chain = await chain_of(s, c.id)
    if ctx.args.pem:
        for r in [c, *chain]:
            sys.stdout.write(
                x509.load_der_x509_certificate(r.der).public_bytes(Encoding.PEM).decode()
            )
        return 0
    data = certificate_json(c)
    data["chain"] = [{"id": r.id, "subject": r.subject, "sha256": r.sha256} for r in chain]
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
