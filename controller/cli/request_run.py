"""``certmgr request new|list|show|cancel|order|receive|csr`` and ``certmgr acme account add|list``: the handlers (parsers in ``request_cmd``)."""

from __future__ import annotations

import sys
from pathlib import Path

from certmgr.controller.cli.base import (
    CommandContext,
    read_input_file,
    read_secret_file,
    table,
)
from certmgr.controller.domain.state_labels import state_label
from certmgr.controller.domain.values import parse_day, parse_moment
from certmgr.controller.services.acquisition.acme_accounts import (
    NewAcmeAccount,
    add_acme_account,
    list_accounts,
)
from certmgr.controller.services.acquisition.acme_runtime import http01_responder
from certmgr.controller.services.acquisition.catalogue import use_home_catalogue
from certmgr.controller.services.acquisition.issuing import acquire
from certmgr.controller.services.acquisition.receiving import receive_certificate
from certmgr.controller.services.acquisition.request_views import (
    Request,
    list_requests,
    load_request,
    request_csr,
    request_detail,
    requests_page,
)
from certmgr.controller.services.acquisition.requests import (
    IssuerEnv,
    cancel_request,
    record_order,
    start_request,
)
from certmgr.controller.services.acquisition.vendor_accounts import find_vendor_account
from certmgr.controller.services.agents.key_on_agent import start_key_on_agent
from certmgr.controller.views import history_json, request_json
from certmgr.shared.clock import SystemClock
from certmgr.shared.secret import Secret


async def _request_id(ctx: CommandContext) -> int:
    """The request named on the command line: a number, or a definition's name (its open request)."""
    return (await load_request(await ctx.db(), ctx.args.request)).id


async def _acquire(ctx: CommandContext, request_id: int) -> Request:
    db = await ctx.db()
    async with http01_responder(ctx.settings, db) as solver:
        env = IssuerEnv(ctx.settings.ca_dir, ctx.settings.effective_crl_url, solver)
        return await acquire(db, ctx.vault, ctx.actor, request_id, SystemClock(), env)


async def _new(ctx: CommandContext) -> int:
    a = ctx.args
    db = await ctx.db()
    if a.key_on_agent is not None:
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
        ctx.print(
            f"request #{req.id} ({req.kind}, {req.issuer_kind}): {state_label('request', req.status)}"
        )
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
    req = await _acquire(ctx, await _request_id(ctx))
    if ctx.args.json:
        ctx.print_json(request_json(req))
    else:
        ctx.print(
            f"request #{req.id}: {state_label('request', req.status)}{'  (' + req.last_error + ')' if req.last_error and req.status != 'done' else ''}"
        )
    return 0 if req.status == "done" else 10


async def _list(ctx: CommandContext) -> int:
    a = ctx.args
    if a.state or a.issuer or a.age:
        page = await requests_page(
            await ctx.db(),
            now=SystemClock().now(),
            status=a.state or ("open" if a.open else ""),
            issuer=a.issuer or "",
            age=a.age or "",
            page=max(1, a.page),
            per_page=500,
        )
        rows = [r.request for r in page.items]
    else:
        rows = await list_requests(await ctx.db(), open_only=a.open)
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
    detail = await request_detail(await ctx.db(), ctx.args.request)
    req, events = detail.request, detail.events
    data = request_json(req)
    data["history"] = history_json(events)
    if ctx.args.json:
        ctx.print_json(data)
        return 0
    ctx.print(
        f"Request #{req.id} ({req.kind}, {req.issuer_kind}) for definition #{req.definition_id}: "
        f"{state_label('request', req.status)}"
    )
    for e in events:
        ctx.print(f"  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<14} {e.event:<16} {e.message}")
    return 0


async def _csr(ctx: CommandContext) -> int:
    _, pem = await request_csr(await ctx.db(), ctx.args.request)
    sys.stdout.write(pem)
    return 0


async def _cancel(ctx: CommandContext) -> int:
    req = await cancel_request(
        await ctx.db(), ctx.actor, await _request_id(ctx), SystemClock(), reason=ctx.args.reason
    )
    ctx.print(f"request #{req.id} cancelled")
    return 0


async def _order(ctx: CommandContext) -> int:
    a = ctx.args
    use_home_catalogue(ctx.home)
    when = parse_day(a.date or "", field="date", label="--date")
    db = await ctx.db()
    req = await record_order(
        db,
        ctx.actor,
        await _request_id(ctx),
        SystemClock(),
        order_number=a.number,
        order_date=when,
        tracking_notes=a.notes,
        product_id=a.product,
        vendor_account_id=(await find_vendor_account(db, a.vendor_account)).id
        if a.vendor_account
        else None,
    )
    ctx.print(f"request #{req.id} ordered ({req.order_number})")
    return 0


async def _receive(ctx: CommandContext) -> int:
    a = ctx.args
    req = await receive_certificate(
        await ctx.db(),
        ctx.actor,
        await _request_id(ctx),
        read_input_file(a.file),
        SystemClock(),
        name=Path(a.file).name,
        chain_data=[read_input_file(c) for c in a.chain],
        password=read_secret_file(a.password_file),
        vault=ctx.vault,
        hold_until=parse_moment(a.hold_until or "", field="hold_until", label="--hold-until"),
    )
    if req.status == "received":
        ctx.print(
            f"request #{req.id}: received; certificate #{req.certificate_id} is held and becomes current later"
            " (certmgr definition show)"
        )
    else:
        ctx.print(
            f"request #{req.id}: {state_label('request', req.status)}; "
            f"certificate #{req.certificate_id} is current"
        )
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
