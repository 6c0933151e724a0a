"""``certmgr request new|list|show|cancel|order|receive|csr`` and ``certmgr acme account add|list``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from certmgr.controller.cli.base import (
    CommandContext,
    add_home,
    add_json,
    read_input_file,
    read_secret_file,
    table,
)
from certmgr.controller.db.models import CertificateRequest
from certmgr.controller.domain.values import parse_day
from certmgr.controller.services.acme_accounts import (
    NewAcmeAccount,
    add_acme_account,
    list_accounts,
)
from certmgr.controller.services.acme_runtime import http01_responder
from certmgr.controller.services.requests import (
    IssuerEnv,
    acquire,
    cancel_request,
    find_request,
    receive_certificate,
    record_order,
    request_history,
    start_request,
)
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import ValidationError
from certmgr.shared.secret import Secret


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("request", help="certificate requests (acquisition: new or renewal)")
    r = p.add_subparsers(dest="request_command", metavar="ACTION")
    r.required = True
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
    q.set_defaults(handler=_new)
    q = r.add_parser("list", help="list requests")
    add_home(q)
    add_json(q)
    q.add_argument("--open", action="store_true", help="only ongoing requests")
    q.set_defaults(handler=_list)
    q = r.add_parser("show", help="show a request and its history")
    add_home(q)
    add_json(q)
    q.add_argument("request", metavar="REQUEST")
    q.set_defaults(handler=_show)
    q = r.add_parser("csr", help="print the request's CSR (PEM)")
    add_home(q)
    q.add_argument("request", metavar="REQUEST")
    q.set_defaults(handler=_csr)
    q = r.add_parser("cancel", help="cancel an open request")
    add_home(q)
    q.add_argument("request", metavar="REQUEST")
    q.add_argument("--reason", default="")
    q.set_defaults(handler=_cancel)
    q = r.add_parser("retry", help="try the issuer again now (private CA, ACME)")
    add_home(q)
    add_json(q)
    q.add_argument("request", metavar="REQUEST")
    q.set_defaults(handler=_retry)
    q = r.add_parser("order", help="record a manual vendor order")
    add_home(q)
    q.add_argument("request", metavar="REQUEST")
    q.add_argument("--number", required=True, help="the vendor's order number")
    q.add_argument("--date", default=None, help="order date YYYY-MM-DD (default today)")
    q.add_argument("--notes", default="", help="tracking notes")
    q.add_argument("--product", default=None, help="product id from the catalogue")
    q.set_defaults(handler=_order)
    q = r.add_parser("receive", help="receive the vendor's certificate (any importable format)")
    add_home(q)
    q.add_argument("request", metavar="REQUEST")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--chain", action="append", default=[], metavar="F")
    q.add_argument("--password-file", default=None)
    q.set_defaults(handler=_receive)

    p = sub.add_parser("acme", help="ACME accounts")
    a = p.add_subparsers(dest="acme_command", metavar="ACTION")
    a.required = True
    acc = a.add_parser("account", help="ACME accounts").add_subparsers(
        dest="acme_account_command", metavar="ACTION"
    )
    acc.required = True
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
    q.set_defaults(handler=_acme_add)
    q = acc.add_parser("list", help="list ACME accounts")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=_acme_list)


def request_json(r: CertificateRequest) -> dict[str, Any]:
    """A request as JSON."""
    return {
        "id": r.id,
        "definition_id": r.definition_id,
        "kind": r.kind,
        "status": r.status,
        "issuer": r.issuer_kind,
        "private_key_id": r.private_key_id,
        "certificate_id": r.certificate_id,
        "order_number": r.order_number,
        "last_error": r.last_error,
        "attempts": r.attempts,
        "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    }


async def _acquire(ctx: CommandContext, request_id: int) -> CertificateRequest:
    db = await ctx.db()
    async with http01_responder(ctx.settings, db) as solver:
        env = IssuerEnv(ctx.settings.ca_dir, ctx.settings.effective_crl_url, solver)
        return await acquire(db, ctx.vault, ctx.actor, request_id, SystemClock(), env)


async def _new(ctx: CommandContext) -> int:
    a = ctx.args
    db = await ctx.db()
    if a.key_on_agent is not None:
        from certmgr.controller.services.key_release import start_key_on_agent

        kreq = await start_key_on_agent(
            db, ctx.vault, ctx.actor, a.definition, a.key_on_agent, SystemClock()
        )
        ctx.print(
            f"request #{kreq.id}: agent #{a.key_on_agent} makes the key and CSR; the certificate follows when its CSR arrives"
        )
        return 0
    req = await start_request(
        db, ctx.vault, ctx.actor, a.definition, SystemClock(), reuse_key_id=a.reuse_key
    )
    if a.wait and req.issuer_kind in ("private-ca", "acme"):
        req = await _acquire(ctx, req.id)
    if a.json:
        ctx.print_json(request_json(req))
    else:
        ctx.print(f"request #{req.id} ({req.kind}, {req.issuer_kind}): {req.status}")
        if req.last_error:
            ctx.print(f"  last error: {req.last_error}")
        if req.issuer_kind == "vendor":
            ctx.print(
                f"  next: order with the CSR ('certmgr request csr {req.id}'), then 'certmgr request order' and 'certmgr request receive'"
            )
    if a.wait and req.issuer_kind in ("private-ca", "acme") and req.status != "done":
        print(
            f"certmgr: error: request #{req.id} did not complete: {req.last_error or req.status}",
            file=sys.stderr,
        )
        return 10
    return 0


async def _retry(ctx: CommandContext) -> int:
    req = await _acquire(ctx, int(ctx.args.request))
    if ctx.args.json:
        ctx.print_json(request_json(req))
    else:
        ctx.print(
            f"request #{req.id}: {req.status}{'  (' + req.last_error + ')' if req.last_error and req.status != 'done' else ''}"
        )
    return 0 if req.status == "done" else 10


async def _list(ctx: CommandContext) -> int:
    db = await ctx.db()
    async with db.reader() as s:
        q = select(CertificateRequest).order_by(CertificateRequest.id)
        if ctx.args.open:
            q = q.where(CertificateRequest.status.not_in(["done", "cancelled"]))
        rows = (await s.execute(q)).scalars().all()
    if ctx.args.json:
        ctx.print_json([request_json(r) for r in rows])
        return 0
    ctx.print(
        table(
            [
                (
                    r.id,
                    r.definition_id,
                    r.kind,
                    r.issuer_kind,
                    r.status,
                    r.updated_at.strftime("%Y-%m-%d %H:%M"),
                    (r.last_error or "")[:60],
                )
                for r in rows
            ],
            ["ID", "DEF", "KIND", "ISSUER", "STATUS", "UPDATED", "LAST ERROR"],
        )
    )
    return 0


async def _show(ctx: CommandContext) -> int:
    db = await ctx.db()
    async with db.reader() as s:
        req = await find_request(s, ctx.args.request)
    events = await request_history(db, req.id)
    data = request_json(req)
    data["history"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "event": e.event, "message": e.message}
        for e in events
    ]
    if ctx.args.json:
        ctx.print_json(data)
        return 0
    ctx.print(
        f"Request #{req.id} ({req.kind}, {req.issuer_kind}) for definition #{req.definition_id}: {req.status}"
    )
    for e in events:
        ctx.print(f"  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<14} {e.event:<16} {e.message}")
    return 0


async def _csr(ctx: CommandContext) -> int:
    db = await ctx.db()
    async with db.reader() as s:
        req = await find_request(s, ctx.args.request)
    if not req.csr_pem:
        raise ValidationError(f"request #{req.id} has no CSR yet", field="request")
    sys.stdout.write(req.csr_pem)
    return 0


async def _cancel(ctx: CommandContext) -> int:
    req = await cancel_request(
        await ctx.db(), ctx.actor, int(ctx.args.request), SystemClock(), reason=ctx.args.reason
    )
    ctx.print(f"request #{req.id} cancelled")
    return 0


async def _order(ctx: CommandContext) -> int:
    a = ctx.args
    when = parse_day(a.date or "", field="date", label="--date")
    req = await record_order(
        await ctx.db(),
        ctx.actor,
        int(a.request),
        SystemClock(),
        order_number=a.number,
        order_date=when,
        tracking_notes=a.notes,
        product_id=a.product,
    )
    ctx.print(f"request #{req.id} ordered ({req.order_number})")
    return 0


async def _receive(ctx: CommandContext) -> int:
    a = ctx.args
    req = await receive_certificate(
        await ctx.db(),
        ctx.actor,
        int(a.request),
        read_input_file(a.file),
        SystemClock(),
        name=Path(a.file).name,
        chain_data=[read_input_file(c) for c in a.chain],
        password=read_secret_file(a.password_file),
        vault=ctx.vault,
    )
    ctx.print(f"request #{req.id}: {req.status}; certificate #{req.certificate_id} is current")
    return 0


async def _acme_add(ctx: CommandContext) -> int:
    a = ctx.args
    hmac_raw = read_secret_file(a.eab_hmac_file, what="EAB HMAC key")
    dns_raw = read_secret_file(a.dns_key_file, what="TSIG secret")
    spec = NewAcmeAccount(
        name=a.name,
        directory_url=a.directory,
        contact_email=a.email,
        eab_kid=a.eab_kid,
        eab_hmac=Secret(hmac_raw.decode().strip()) if hmac_raw else None,
        ca_bundle_pem=read_input_file(a.ca_bundle) if a.ca_bundle else None,
        profile=a.profile,
        challenge="dns-01" if a.dns_server else "http-01",
        dns_server=a.dns_server,
        dns_zone=a.dns_zone,
        dns_key_name=a.dns_key_name,
        dns_key_secret=Secret(dns_raw.decode().strip()) if dns_raw else None,
    )
    row = await add_acme_account(await ctx.db(), ctx.vault, ctx.actor, spec, SystemClock())
    ctx.print(f"ACME account {row.name!r} registered: {row.account_url}")
    return 0


async def _acme_list(ctx: CommandContext) -> int:
    rows = await list_accounts(await ctx.db())
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "directory": r.directory_url,
                    "account_url": r.account_url,
                    "challenge": r.challenge,
                    "eab": bool(r.eab_kid),
                }
                for r in rows
            ]
        )
        return 0
    ctx.print(
        table(
            [
                (r.id, r.name, r.directory_url, r.challenge, "yes" if r.eab_kid else "")
                for r in rows
            ],
            ["ID", "NAME", "DIRECTORY", "CHALLENGE", "EAB"],
        )
    )
    return 0
