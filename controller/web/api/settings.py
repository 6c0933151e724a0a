"""API: settings (Admin): general, outbound mail, test e-mail."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certmgr.controller.services.admin.settings import (
    GeneralSettings,
    MailSettings,
    check_email,
    load_general_settings,
    load_mail_settings,
    parse_smtp_server,
    save_general_settings,
    save_mail_settings,
)
from certmgr.controller.services.admin.tokens import check_token_days
from certmgr.controller.services.notification.mail import send_and_record, test_message
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.audit import email_json
from certmgr.controller.web.api.base import ApiRoutes, actor, json_body, ok, s_field
from certmgr.shared.errors import ValidationError
from certmgr.shared.secret import Secret

api = ApiRoutes("administration")


async def _settings_json(request: web.Request) -> dict[str, Any]:
    ctx, _ = actor(request)
    g = await load_general_settings(ctx.db)
    m = await load_mail_settings(ctx.db, ctx.vault)
    return {
        "admin_email": g.admin_email,
        "external_url": g.external_url,
        "organization": g.organization,
        "api_token_days": g.token_days,
        "mail": {
            "sender_address": m.sender_address,
            "sender_name": m.sender_name,
            "smtp_server": f"{m.host}:{m.port}" if m.host else "",
            "security": m.security,
            "username": m.username,
            "password_set": m.password is not None,
            "ca_file": m.ca_file,
        },
    }


@api.op(
    "GET",
    "/settings",
    "Settings (Admin; the SMTP password is never returned)",
    response=sc.SETTINGS,
    admin=True,
)
async def settings_get(request: web.Request) -> web.Response:
    """Current settings."""
    return ok(await _settings_json(request))


@api.op(
    "PUT",
    "/settings",
    "Change settings (Admin); omitted fields keep their value",
    request=sc.SETTINGS,
    response=sc.SETTINGS,
    admin=True,
)
async def settings_put(request: web.Request) -> web.Response:
    """Save settings."""
    ctx, who = actor(request)
    body = await json_body(request)
    g = await load_general_settings(ctx.db)
    await save_general_settings(
        ctx.db,
        who,
        GeneralSettings(
            admin_email=s_field(body, "admin_email", max_len=1000, default=g.admin_email),
            external_url=s_field(body, "external_url", max_len=500, default=g.external_url),
            organization=s_field(body, "organization", max_len=200, default=g.organization),
            token_days=check_token_days(
                body.get("api_token_days", g.token_days), field="api_token_days"
            ),
        ),
        ctx.clock,
    )
    mail = body.get("mail")
    if mail is not None:
        if not isinstance(mail, dict):
            raise ValidationError("mail must be an object", field="mail")
        cur = await load_mail_settings(ctx.db, ctx.vault)
        server = s_field(
            mail, "smtp_server", max_len=300, default=f"{cur.host}:{cur.port}" if cur.host else ""
        )
        host, port = parse_smtp_server(server) if server else ("", 587)
        pw = mail.get("password")
        if pw is not None and not isinstance(pw, str):
            raise ValidationError("password must be a string", field="password")
        new = MailSettings(
            sender_address=s_field(mail, "sender_address", max_len=254, default=cur.sender_address),
            sender_name=s_field(mail, "sender_name", max_len=100, default=cur.sender_name),
            host=host,
            port=port,
            security=s_field(mail, "security", max_len=10, default=cur.security),
            username=s_field(mail, "username", max_len=200, default=cur.username),
            password=Secret(pw) if pw else None,
            ca_file=s_field(mail, "ca_file", max_len=500, default=cur.ca_file),
        )
        await save_mail_settings(ctx.db, ctx.vault, who, new, ctx.clock)
    return ok(await _settings_json(request))


@api.op(
    "POST",
    "/settings/mail/test",
    "Send a test e-mail (Admin)",
    request=sc.obj({"to": sc.string(max_len=254)}),
    response=sc.EMAIL,
    admin=True,
)
async def mail_test(request: web.Request) -> web.Response:
    """Send and record."""
    ctx, who = actor(request)
    body = await json_body(request)
    general = await load_general_settings(ctx.db)
    to = check_email(s_field(body, "to", max_len=254), "to") or general.admin_email.split(",")[0]
    if not to:
        raise ValidationError("give a recipient or set the administrator e-mail", field="to")
    row = await send_and_record(
        ctx.db,
        who,
        await load_mail_settings(ctx.db, ctx.vault),
        test_message(to, general.signature),
        ctx.clock,
    )
    return ok(email_json(row))
