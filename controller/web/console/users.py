"""Users (Admin only) and Settings (Admin only): general, mail, test e-mail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from certmgr.controller.domain.actors import Role
from certmgr.controller.services.admin.settings import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    SECURITY_MODES,
    GeneralSettings,
    MailSettings,
    check_email,
    load_general_settings,
    load_mail_settings,
    load_metrics_token,
    parse_smtp_server,
    regenerate_metrics_token,
    save_general_settings,
    save_mail_settings,
)
from certmgr.controller.services.admin.users import (
    add_user,
    check_username,
    delete_user,
    generate_password,
    list_users,
    reset_password,
    update_user,
)
from certmgr.controller.services.notification.mail import send_and_record, test_message
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import FormErrors, checkbox, choice, form_of, integer, text
from certmgr.controller.web.render import redirect, render
from certmgr.controller.web.reveal import hold_and_redirect, take
from certmgr.shared.errors import CertmgrError, ConflictError, ValidationError
from certmgr.shared.secret import Secret

routes = web.RouteTableDef()


async def _users_page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    ctx = ctx_of(request)
    users = await list_users(ctx.db)
    held = await take(request, "users") if status == 200 else None
    return render(
        request,
        "console/users.html",
        title="Users",
        users=users,
        errors=errors or {},
        values=values or {},
        new_password=(held["username"], held["password"]) if held else None,
        roles=[Role.ADMIN.value, Role.USER.value],
        status=status,
    )


async def _show_password(
    request: web.Request, username: str, password: str, message: str
) -> web.HTTPSeeOther:
    """Post/redirect/get: the users page shows the one-time password once."""
    values = {"username": username, "password": password}
    return await hold_and_redirect(request, "/users", "users", values, message.format(username))


@routes.get("/users")
async def users(request: web.Request) -> web.Response:
    """User management (a one-time password just made is shown here once)."""
    return await _users_page(request)


@routes.post("/users")
async def user_add(request: web.Request) -> web.Response:
    """Add a user with a one-time password; every wrong field is named at once."""
    ctx = ctx_of(request)
    form = await form_of(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    errors = FormErrors()
    username = errors.read(
        lambda: check_username(
            text(form, "username", required=True, max_len=100, label="User name")
        ),
        "",
    )
    email = errors.read(
        lambda: check_email(text(form, "email", max_len=254, label="E-mail"), "email"), ""
    )
    role = errors.read(
        lambda: Role(
            choice(
                form,
                "role",
                [Role.ADMIN.value, Role.USER.value],
                default=Role.USER.value,
                label="Role",
            )
        ),
        Role.USER,
    )
    if not errors:
        password = generate_password()
        try:
            user = await add_user(
                ctx.db,
                ctx.require_actor(),
                username=username,
                role=role,
                password=password,
                must_change_password=True,
                email=email,
                clock=ctx.clock,
            )
        except ConflictError:
            errors.add(
                ValidationError(
                    f"a user named {username!r} exists already: choose another name",
                    field="username",
                )
            )
        except ValidationError as err:
            errors.add(err)
        else:
            raise await _show_password(request, user.username, password, "User {} added.")
    return await _users_page(request, errors=errors.by_field, values=values, status=422)


def _uid(request: web.Request) -> int:
    return int(request.match_info["id"])


@routes.post("/users/{id:\\d+}")
async def user_edit(request: web.Request) -> web.Response:
    """Change e-mail, role, disabled."""
    ctx = ctx_of(request)
    form = await form_of(request)
    try:
        await update_user(
            ctx.db,
            ctx.require_actor(),
            _uid(request),
            email=text(form, "email", max_len=254, label="E-mail"),
            role=Role(choice(form, "role", [Role.ADMIN.value, Role.USER.value], label="Role")),
            disabled=checkbox(form, "disabled"),
            clock=ctx.clock,
        )
    except CertmgrError as err:
        raise redirect(request, "/users", f"Not changed: {err}", "bad") from err
    raise redirect(request, "/users", "User updated.")


@routes.post("/users/{id:\\d+}/delete")
async def user_delete(request: web.Request) -> web.Response:
    """Delete a user."""
    ctx = ctx_of(request)
    try:
        await delete_user(ctx.db, ctx.require_actor(), _uid(request), clock=ctx.clock)
    except CertmgrError as err:
        raise redirect(request, "/users", f"Not deleted: {err}", "bad") from err
    raise redirect(request, "/users", "User deleted.")


@routes.post("/users/{id:\\d+}/reset-password")
async def user_reset(request: web.Request) -> web.Response:
    """New one-time password, shown once."""
    ctx = ctx_of(request)
    try:
        user, password = await reset_password(
            ctx.db, ctx.require_actor(), _uid(request), clock=ctx.clock
        )
    except CertmgrError as err:
        raise redirect(request, "/users", f"Not reset: {err}", "bad") from err
    raise await _show_password(request, user.username, password, "New one-time password for {}.")


async def _settings_page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """Settings; ``typed`` is what a form that failed was sent with (shown instead of the stored values)."""
    ctx = ctx_of(request)
    general = await load_general_settings(ctx.db)
    mail = await load_mail_settings(ctx.db, ctx.vault)
    values = {
        "admin_email": general.admin_email,
        "organization": general.organization,
        "external_url": general.external_url,
        "token_days": str(general.token_days),
        "sender_address": mail.sender_address,
        "sender_name": mail.sender_name,
        "smtp_server": f"{mail.host}:{mail.port}" if mail.host else "",
        "security": mail.security,
        "smtp_username": mail.username,
        "ca_file": mail.ca_file,
    }
    return render(
        request,
        "console/settings.html",
        title="Settings",
        general=general,
        mail=mail,
        values={**values, **(typed or {})},
        metrics_token=await load_metrics_token(ctx.db, ctx.vault),
        modes=SECURITY_MODES,
        errors=errors or {},
        status=status,
    )


def _typed(form: Mapping[str, Any]) -> dict[str, str]:
    """What a settings form was sent with, passwords left out."""
    return {
        k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "smtp_password")
    }


@routes.get("/settings")
async def settings(request: web.Request) -> web.Response:
    """General and mail settings."""
    return await _settings_page(request)


@routes.post("/settings/general")
async def settings_general(request: web.Request) -> web.Response:
    """Save the administrator e-mail and the external URL; every wrong field at once."""
    ctx = ctx_of(request)
    form = await form_of(request)
    errors = FormErrors()
    new = GeneralSettings(
        admin_email=errors.read(
            lambda: text(form, "admin_email", max_len=1000, label="Administrator e-mail"), ""
        ),
        external_url=errors.read(
            lambda: text(form, "external_url", max_len=500, label="External URL"), ""
        ),
        organization=errors.read(
            lambda: text(form, "organization", max_len=200, label="Organisation"), ""
        ),
        token_days=errors.read(
            lambda: integer(
                form,
                "token_days",
                default=DEFAULT_TOKEN_DAYS,
                lo=0,
                hi=MAX_TOKEN_DAYS,
                label="API token lifetime",
            ),
            DEFAULT_TOKEN_DAYS,
        ),
    )
    try:
        await save_general_settings(ctx.db, ctx.require_actor(), new, ctx.clock)
    except ValidationError as err:
        errors.add(err)
    if errors:
        return await _settings_page(request, errors=errors.by_field, typed=_typed(form), status=422)
    raise redirect(request, "/settings", "Settings saved.")


@routes.post("/settings/metrics-token")
async def settings_metrics_token(request: web.Request) -> web.Response:
    """Replace the /metrics token (Prometheus needs the new one)."""
    ctx = ctx_of(request)
    await regenerate_metrics_token(ctx.db, ctx.vault, ctx.require_actor(), ctx.clock)
    raise redirect(
        request, "/settings#metrics", "New metrics token: update Prometheus' bearer token."
    )


@routes.post("/settings/mail")
async def settings_mail(request: web.Request) -> web.Response:
    """Save outbound mail settings (an empty password field keeps the stored one); every wrong field at once."""
    ctx = ctx_of(request)
    form = await form_of(request)
    errors = FormErrors()
    server = errors.read(lambda: text(form, "smtp_server", max_len=300, label="SMTP server"), "")
    host, port = errors.read(lambda: parse_smtp_server(server), ("", 587)) if server else ("", 587)
    pw = form.get("smtp_password", "")
    new = MailSettings(
        sender_address=errors.read(
            lambda: check_email(
                text(form, "sender_address", max_len=254, label="Sender address"),
                "sender_address",
            ),
            "",
        ),
        sender_name=errors.read(
            lambda: text(form, "sender_name", max_len=100, label="Sender name"), ""
        ),
        host=host,
        port=port,
        security=errors.read(
            lambda: choice(form, "security", SECURITY_MODES, default="starttls", label="Security"),
            "starttls",
        ),
        username=errors.read(
            lambda: text(form, "smtp_username", max_len=200, label="SMTP user"), ""
        ),
        password=Secret(pw) if isinstance(pw, str) and pw else None,
        ca_file=errors.read(lambda: text(form, "ca_file", max_len=500, label="CA file"), ""),
    )
    if not errors:
        try:
            await save_mail_settings(
                ctx.db,
                ctx.vault,
                ctx.require_actor(),
                new,
                ctx.clock,
                keep_password=not checkbox(form, "clear_password"),
            )
        except ValidationError as err:
            errors.add(err)
    if errors:
        return await _settings_page(request, errors=errors.by_field, typed=_typed(form), status=422)
    raise redirect(request, "/settings", "Mail settings saved.")


@routes.post("/settings/mail/test")
async def settings_mail_test(request: web.Request) -> web.Response:
    """Send a test e-mail to the administrator address (or the address typed in)."""
    ctx = ctx_of(request)
    form = await form_of(request)
    general = await load_general_settings(ctx.db)
    try:
        to = (
            check_email(text(form, "to", max_len=254, label="Recipient"), "to")
            or general.admin_email.split(",")[0]
        )
    except ValidationError as err:
        errors = FormErrors()
        errors.add(err)
        return await _settings_page(
            request, errors=errors.by_field, typed={"to": str(form.get("to", ""))}, status=422
        )
    if not to:
        raise redirect(
            request,
            "/settings",
            "Set the certificate administrator's e-mail first, or type a recipient.",
            "bad",
        )
    mail = await load_mail_settings(ctx.db, ctx.vault)
    row = await send_and_record(
        ctx.db,
        ctx.require_actor(),
        mail,
        test_message(to, general.signature),
        ctx.clock,
    )
    if row.result == "sent":
        raise redirect(request, "/settings", f"Test e-mail sent to {to}.")
    raise redirect(request, "/settings", f"Test e-mail failed: {row.error}", "bad")
