"""API: import, private CA, users, tokens, settings, sent e-mails, audit log."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from certmgr.controller.db.models import AuditEvent, SentEmail, User
from certmgr.controller.domain.actors import Role
from certmgr.controller.issuers.private_ca import REASONS
from certmgr.controller.services.acquisition.private_ca import (
    IssueRequest,
    ca_info,
    generate_crl,
    issue_for_definitions,
    revoke,
)
from certmgr.controller.services.admin.auth import (
    change_password,
    check_token_days,
    create_token,
    list_tokens,
    revoke_token,
)
from certmgr.controller.services.admin.settings import (
    MAX_TOKEN_DAYS,
    GeneralSettings,
    MailSettings,
    check_email,
    load_general_settings,
    load_mail_settings,
    parse_smtp_server,
    save_general_settings,
    save_mail_settings,
)
from certmgr.controller.services.admin.users import (
    add_user,
    delete_user,
    generate_password,
    reset_password,
    update_user,
)
from certmgr.controller.services.certificates.imports import (
    ImportFile,
    ImportOptions,
    import_files,
    parse_inputs,
)
from certmgr.controller.services.notification.mail import OutgoingMail, send_and_record
from certmgr.controller.views import certificate_json
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    b64_field,
    bool_field,
    decode_cursor,
    encode_cursor,
    int_param,
    json_body,
    ok,
    path_id,
    s_field,
)
from certmgr.controller.web.console.admin import ca_context
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import summarize
from certmgr.shared.secret import Secret

api = ApiRoutes("administration")


def _files(body: dict[str, Any], name: str) -> list[ImportFile]:
    raw = body.get(name, [])
    if not isinstance(raw, list) or len(raw) > 100:
        raise ValidationError(
            f"{name} must be a list of at most 100 {{name, data}} objects", field=name
        )
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValidationError(f"{name}[{i}] must be an object with name and data", field=name)
        data = b64_field(item, "data") or b""
        out.append(
            ImportFile(
                s_field(item, "name", max_len=200, default=f"{name}-{i + 1}") or f"{name}-{i + 1}",
                data,
            )
        )
    return out


@api.op(
    "POST",
    "/import",
    "Import certificates, chains and keys (dry_run: only show what was found)",
    request=sc.IMPORT_REQUEST,
    response=sc.IMPORT_RESULT,
)
async def import_(request: web.Request) -> web.Response:
    """Files as base64 in JSON; any format the importer reads."""
    ctx, who = actor(request)
    body = await json_body(request)
    files = _files(body, "files")
    if not files:
        raise ValidationError("files must hold at least one file", field="files")
    pw = s_field(body, "password", max_len=1024)
    kpw = s_field(body, "key_password", max_len=1024)
    options = ImportOptions(
        password=pw.encode() or None,
        key_password=kpw.encode() or None,
        name=s_field(body, "name", max_len=200) or None,
        accept_unverified=bool_field(body, "accept_unverified"),
    )
    keys, chains = _files(body, "keys"), _files(body, "chains")
    if bool_field(body, "dry_run"):
        parsed = parse_inputs(files, key_files=keys, chain_files=chains, options=options)
        found = [
            {
                "sha256": summarize(lf.cert).sha256,
                "subject": summarize(lf.cert).subject,
                "has_private_key": lf.key is not None,
            }
            for lf in parsed.leaves
        ]
        found += [
            {"sha256": summarize(c).sha256, "subject": summarize(c).subject, "is_ca": True}
            for c, _ in parsed.cas.values()
        ]
        return ok({"dry_run": True, "results": found})
    results = await import_files(
        ctx.db,
        ctx.vault,
        who,
        files,
        key_files=keys,
        chain_files=chains,
        options=options,
        clock=ctx.clock,
    )
    return ok({"dry_run": False, "results": [r.to_json() for r in results]})


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


def _user_json(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "role": u.role,
        "disabled": u.disabled,
        "must_change_password": u.must_change_password,
        "last_login_at": u.last_login_at,
    }


@api.op("GET", "/me", "The signed-in user", response=sc.USER)
async def me(request: web.Request) -> web.Response:
    """Who am I."""
    ctx, _ = actor(request)
    assert ctx.user is not None  # noqa: S101 - actor implies user
    return ok(_user_json(ctx.user))


@api.op("GET", "/users", "List users (Admin)", response=sc.array(sc.USER), admin=True)
async def users(request: web.Request) -> web.Response:
    """All users."""
    ctx, _ = actor(request)
    async with ctx.db.reader() as s:
        rows = (await s.execute(select(User).order_by(User.username))).scalars().all()
    return ok([_user_json(u) for u in rows])


@api.op(
    "POST",
    "/users",
    "Add a user (Admin); without password a one-time password is returned",
    request=sc.USER_NEW,
    response=sc.obj({"user": sc.USER, "one_time_password": sc.string(nullable=True)}),
    status=201,
    admin=True,
    extra_responses=(409,),
)
async def user_add(request: web.Request) -> web.Response:
    """Add a user."""
    ctx, who = actor(request)
    body = await json_body(request)
    role = s_field(body, "role", default="user", max_len=10)
    if role not in ("admin", "user"):
        raise ValidationError("role must be admin or user", field="role")
    given = body.get("password")
    if given is not None and not isinstance(given, str):
        raise ValidationError("password must be a string", field="password")
    password = given or generate_password()
    u = await add_user(
        ctx.db,
        who,
        username=s_field(body, "username", required=True, max_len=100),
        role=Role(role),
        password=password,
        must_change_password=given is None,
        email=check_email(s_field(body, "email", max_len=254), "email"),
        clock=ctx.clock,
    )
    return ok({"user": _user_json(u), "one_time_password": None if given else password}, status=201)


@api.op(
    "PATCH",
    "/users/{id}",
    "Change e-mail, role or disabled (Admin)",
    request=sc.USER_PATCH,
    response=sc.USER,
    params=(sc.ID,),
    admin=True,
    extra_responses=(409,),
)
async def user_patch(request: web.Request) -> web.Response:
    """Update a user."""
    ctx, who = actor(request)
    body = await json_body(request)
    role = body.get("role")
    if role is not None and role not in ("admin", "user"):
        raise ValidationError("role must be admin or user", field="role")
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ValidationError("disabled must be true or false", field="disabled")
    email = body.get("email")
    if email is not None and not isinstance(email, str):
        raise ValidationError("email must be a string", field="email")
    async with ctx.db.transaction() as s:
        u = await update_user(
            s,
            who,
            path_id(request),
            email=email,
            role=Role(role) if role else None,
            disabled=disabled,
            clock=ctx.clock,
        )
        data = _user_json(u)
    return ok(data)


@api.op(
    "DELETE",
    "/users/{id}",
    "Delete a user (Admin)",
    params=(sc.ID,),
    status=204,
    admin=True,
    extra_responses=(409,),
)
async def user_delete(request: web.Request) -> web.Response:
    """Delete."""
    ctx, who = actor(request)
    async with ctx.db.transaction() as s:
        await delete_user(s, who, path_id(request), clock=ctx.clock)
    return web.Response(status=204)


@api.op(
    "POST",
    "/users/{id}/reset-password",
    "New one-time password (Admin)",
    params=(sc.ID,),
    response=sc.obj({"one_time_password": sc.string()}),
    admin=True,
)
async def user_reset(request: web.Request) -> web.Response:
    """Reset a password."""
    ctx, who = actor(request)
    _, password = await reset_password(ctx.db, who, path_id(request), clock=ctx.clock)
    return ok({"one_time_password": password})


@api.op(
    "POST",
    "/users/me/password",
    "Change my password; my console sessions end and, unless revoke_tokens is false, my API tokens",
    request=sc.obj(
        {
            "current_password": sc.string(max_len=1024),
            "new_password": sc.string(max_len=1024),
            "revoke_tokens": sc.boolean(),
        },
        ["current_password", "new_password"],
    ),
    response=sc.obj({"tokens_revoked": sc.integer()}),
    extra_responses=(409,),
)
async def my_password(request: web.Request) -> web.Response:
    """Change the caller's own password."""
    ctx, who = actor(request)
    body = await json_body(request)
    revoke_tokens = body.get("revoke_tokens", True)
    if not isinstance(revoke_tokens, bool):
        raise ValidationError("revoke_tokens must be true or false", field="revoke_tokens")
    changed = await change_password(
        ctx.db,
        who,
        s_field(body, "current_password", required=True, max_len=1024),
        s_field(body, "new_password", required=True, max_len=1024),
        ctx.clock,
        revoke_tokens=revoke_tokens,
    )
    return ok({"tokens_revoked": changed.tokens_revoked})


@api.op(
    "POST",
    "/tokens",
    "Create an API token (for yourself; Admin: for anyone); days: lifetime, 0 never expires, "
    "default from the settings (90)",
    request=sc.obj(
        {
            "name": sc.string(max_len=100),
            "user": sc.string(max_len=100),
            "days": {"type": "integer", "minimum": 0, "maximum": MAX_TOKEN_DAYS},
        }
    ),
    response=sc.obj(
        {"token": sc.string(), "id": sc.integer(), "expires_at": sc.string(nullable=True)}
    ),
    status=201,
)
async def token_create(request: web.Request) -> web.Response:
    """The token text is returned once."""
    ctx, who = actor(request)
    body = await json_body(request)
    days = body.get("days")
    row, token = await create_token(
        ctx.db,
        who,
        s_field(body, "user", max_len=100) or who.name,
        s_field(body, "name", max_len=100) or "api",
        ctx.clock,
        days=None if days is None else check_token_days(days),
    )
    return ok({"id": row.id, "token": token, "expires_at": row.expires_at}, status=201)


@api.op("GET", "/tokens", "List API tokens (yours; Admin: all)", response=sc.array(sc.TOKEN))
async def tokens(request: web.Request) -> web.Response:
    """Token metadata with expiry and last use (never the token)."""
    ctx, who = actor(request)
    now = ctx.clock.now()
    return ok([t.to_dict(now) for t in await list_tokens(ctx.db, who)])


@api.op("DELETE", "/tokens/{id}", "Revoke an API token", params=(sc.ID,), status=204)
async def token_revoke(request: web.Request) -> web.Response:
    """Revoke."""
    ctx, who = actor(request)
    await revoke_token(ctx.db, who, path_id(request), ctx.clock)
    return web.Response(status=204)


async def _settings_json(request: web.Request) -> dict[str, Any]:
    ctx, _ = actor(request)
    g = await load_general_settings(ctx.db)
    m = await load_mail_settings(ctx.db, ctx.vault)
    return {
        "admin_email": g.admin_email,
        "external_url": g.external_url,
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
    to = (
        check_email(s_field(body, "to", max_len=254), "to")
        or (await load_general_settings(ctx.db)).admin_email.split(",")[0]
    )
    if not to:
        raise ValidationError("give a recipient or set the administrator e-mail", field="to")
    row = await send_and_record(
        ctx.db,
        who,
        await load_mail_settings(ctx.db, ctx.vault),
        OutgoingMail(
            (to,),
            "certmgr test e-mail",
            "This is a test e-mail from certmgr. Outbound mail works.\n",
            "test",
        ),
        ctx.clock,
    )
    return ok(_email_json(row))


def _email_json(m: SentEmail) -> dict[str, Any]:
    return {
        "id": m.id,
        "at": m.at,
        "kind": m.kind,
        "to": m.to,
        "subject": m.subject,
        "result": m.result,
        "error": m.error,
        "body": m.body,
    }


@api.op(
    "GET",
    "/emails",
    "Sent e-mails, newest first",
    response=sc.page_of(sc.EMAIL),
    params=(sc.LIMIT, sc.CURSOR),
)
async def emails(request: web.Request) -> web.Response:
    """Sent Emails."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 100, 1, 500)
    after = decode_cursor(request)
    stmt = select(SentEmail).order_by(SentEmail.id.desc()).limit(limit)
    if after:
        stmt = stmt.where(SentEmail.id < after)
    async with ctx.db.reader() as s:
        rows = (await s.execute(stmt)).scalars().all()
    return ok(
        {
            "items": [_email_json(m) for m in rows],
            "next_cursor": encode_cursor(rows[-1].id) if len(rows) == limit else None,
        }
    )


@api.op(
    "GET",
    "/audit",
    "Audit events, newest first",
    response=sc.page_of(sc.AUDIT),
    params=(
        sc.LIMIT,
        sc.CURSOR,
        {"name": "actor", "in": "query", "schema": {"type": "string"}},
        {"name": "action", "in": "query", "schema": {"type": "string"}},
    ),
)
async def audit_log(request: web.Request) -> web.Response:
    """Who did what, when, from where."""
    ctx, _ = actor(request)
    limit = int_param(request, "limit", 100, 1, 500)
    after = decode_cursor(request)
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if after:
        stmt = stmt.where(AuditEvent.id < after)
    for name, col in (("actor", AuditEvent.actor), ("action", AuditEvent.action)):
        if request.query.get(name):
            stmt = stmt.where(col == request.query[name][:200])
    async with ctx.db.reader() as s:
        rows = (await s.execute(stmt)).scalars().all()
    items = [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "source": e.source,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "detail": e.detail,
        }
        for e in rows
    ]
    return ok(
        {"items": items, "next_cursor": encode_cursor(rows[-1].id) if len(rows) == limit else None}
    )
