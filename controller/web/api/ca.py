"""API: the private CA: state, issuing, revocation, CRL."""

from __future__ import annotations

from aiohttp import web

from certmgr.controller.issuers.private_ca import REASONS
from certmgr.controller.services.acquisition.private_ca import (
    IssueRequest,
    ca_info,
    generate_crl,
    issue_for_definitions,
    revoke,
)
from certmgr.controller.views import certificate_json
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import ApiRoutes, actor, json_body, ok, s_field
from certmgr.controller.web.context import ca_context
from certmgr.shared.errors import ValidationError

api = ApiRoutes("administration")


@api.op("GET", "/ca", "The private CA(s)", response=sc.CA)
async def ca(request: web.Request) -> web.Response:
    """CA state."""
    ctx, _ = actor(request)
    infos = [i.__dict__ for i in await ca_info(ctx.db)]
    return ok(
        {
            "active": next((i for i in infos if i["status"] == "active"), None),
            "cas": infos,
            "crl_url": ctx.settings.effective_crl_url,
        }
    )


@api.op(
    "POST",
    "/ca/issue",
    "Issue a server certificate for a definition",
    request=sc.obj(
        {
            "definition": sc.string(max_len=200),
            "csr_pem": sc.string(max_len=65536),
            "days": {"type": "integer", "minimum": 1, "maximum": 3650},
        },
        ["definition"],
    ),
    response=sc.CERTIFICATE,
    status=201,
)
async def ca_issue(request: web.Request) -> web.Response:
    """Issue now from the active CA."""
    ctx, who = actor(request)
    body = await json_body(request)
    days = body.get("days")
    if days is not None and (
        not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650
    ):
        raise ValidationError("days must be a whole number between 1 and 3650", field="days")
    csr = s_field(body, "csr_pem", max_len=65536)
    (row,) = await issue_for_definitions(
        ctx.db,
        ctx.vault,
        who,
        ca_context(request),
        [
            IssueRequest(
                s_field(body, "definition", required=True, max_len=200),
                csr_pem=csr.encode() or None,
                days=days,
            )
        ],
        clock=ctx.clock,
    )
    return ok(certificate_json(row), status=201)


@api.op(
    "POST",
    "/ca/revoke",
    "Revoke a certificate issued by the CA",
    request=sc.obj(
        {"certificate": sc.string(max_len=100), "reason": sc.string(enum=sorted(REASONS))},
        ["certificate"],
    ),
    extra_responses=(409,),
)
async def ca_revoke(request: web.Request) -> web.Response:
    """Revoke and publish a new CRL."""
    ctx, who = actor(request)
    body = await json_body(request)
    rev = await revoke(
        ctx.db,
        ctx.vault,
        who,
        ca_context(request),
        s_field(body, "certificate", required=True, max_len=100),
        reason=s_field(body, "reason", default="unspecified", max_len=40),
        clock=ctx.clock,
    )
    return ok({"serial": rev.serial_hex, "reason": rev.reason, "revoked_at": rev.revoked_at})


@api.op("POST", "/ca/crl", "Publish a new CRL")
async def ca_crl(request: web.Request) -> web.Response:
    """Sign a CRL now."""
    ctx, who = actor(request)
    crl = await generate_crl(ctx.db, ctx.vault, who, ca_context(request), clock=ctx.clock)
    return ok({"revoked": len(list(crl))})
