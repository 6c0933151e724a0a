"""Settings kept in the database: admin e-mail, SMTP, external URL, token lifetime, metrics token."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import SettingRecord
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit
from certmgr.controller.settings import parse_hostport
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConfigurationError, ValidationError, raise_collected
from certmgr.shared.pki.names import normalize_dns_name
from certmgr.shared.secret import Secret

T = TypeVar("T")

MAIL_KEY = "mail"
GENERAL_KEY = "general"
METRICS_KEY = "metrics"
SMTP_PASSWORD_PURPOSE = "smtp-password"  # noqa: S105 - a label
METRICS_TOKEN_PURPOSE = "metrics-token"  # noqa: S105 - a label
METRICS_TOKEN_PREFIX = "cmm_"  # noqa: S105 - a prefix, not a secret
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
SECURITY_MODES = ("plain", "starttls", "tls")


@dataclass(frozen=True)
class MailSettings:
    """Outbound mail."""

    sender_address: str = ""
    sender_name: str = "certmgr"
    host: str = ""
    port: int = 587
    security: str = "starttls"  # plain | starttls | tls
    username: str = ""
    password: Secret[str] | None = field(default=None, repr=False)
    ca_file: str = ""  # extra CA bundle to trust the SMTP server (PEM path), optional

    @property
    def configured(self) -> bool:
        """True when enough is set to send."""
        return bool(self.host and self.sender_address)


@dataclass(frozen=True)
class GeneralSettings:
    """Who gets the certificate administrator's mail, the console's public URL, API token lifetime."""

    admin_email: str = ""
    external_url: str = ""
    token_days: int = DEFAULT_TOKEN_DAYS  # default lifetime of new API tokens; 0: never expire
    organization: str = ""  # signs every e-mail certmgr sends

    @property
    def signature(self) -> str:
        """How e-mails are signed: the organisation's name, else "certmgr"."""
        return self.organization or "certmgr"


def check_email(value: str, field_name: str) -> str:
    """A plausible single e-mail address (no header injection).

    Raises:
        ValidationError: Not an address.
    """
    v = value.strip()
    if not v:
        return ""
    if len(v) > 254 or any(c in v for c in '\r\n<>,; \t"') or v.count("@") != 1:
        raise ValidationError(f"{v!r} is not an e-mail address", field=field_name)
    local, domain = v.split("@")
    if not local:
        raise ValidationError(f"{v!r} is not an e-mail address", field=field_name)
    normalize_dns_name(domain, field=field_name)
    return v


def check_emails(value: str, field_name: str) -> list[str]:
    """Comma- or space-separated addresses.

    Raises:
        ValidationError: One is not an address.
    """
    parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    return [check_email(p, field_name) for p in parts]


def check_url(value: str, field_name: str) -> str:
    """An http(s) URL without credentials, or empty.

    Raises:
        ValidationError: Not such a URL.
    """
    from urllib.parse import urlsplit

    v = value.strip().rstrip("/")
    if not v:
        return ""
    parts = urlsplit(v)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or any(c in v for c in "\r\n <>\"'")
    ):
        raise ValidationError(
            "enter an https:// (or http://) URL without user name or password", field=field_name
        )
    return v


async def _get(s: AsyncSession, key: str) -> SettingRecord | None:
    return await s.get(SettingRecord, key)


async def load_mail_settings(db: Database, vault: MasterKey) -> MailSettings:
    """Current mail settings (the password unsealed but wrapped in ``Secret``)."""
    async with db.reader() as s:
        row = await _get(s, MAIL_KEY)
    if row is None:
        return MailSettings()
    v = row.value
    pw = Secret(vault.unseal(row.sealed, SMTP_PASSWORD_PURPOSE).decode()) if row.sealed else None
    return MailSettings(
        sender_address=str(v.get("sender_address", "")),
        sender_name=str(v.get("sender_name", "certmgr")),
        host=str(v.get("host", "")),
        port=int(v.get("port", 587)),
        security=str(v.get("security", "starttls")),
        username=str(v.get("username", "")),
        password=pw,
        ca_file=str(v.get("ca_file", "")),
    )


async def mail_configured(db: Database) -> bool:
    """True when outbound mail has a server and a sender address (nothing is unsealed)."""
    async with db.reader() as s:
        row = await _get(s, MAIL_KEY)
    return row is not None and bool(row.value.get("host") and row.value.get("sender_address"))


def parse_smtp_server(value: str) -> tuple[str, int]:
    """``host:port`` (port defaults to 587).

    Raises:
        ValidationError: Malformed.
    """
    try:
        host, port = parse_hostport(value, default_port=587)
    except ConfigurationError as err:
        raise ValidationError(str(err), field="smtp_server") from err
    if any(c in host for c in " /\\@"):
        raise ValidationError(f"{host!r} is not a host name", field="smtp_server")
    return host, port


async def save_mail_settings(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    new: MailSettings,
    clock: Clock,
    *,
    keep_password: bool = True,
) -> None:
    """Validate and store mail settings; the password is sealed (``keep_password``: an empty field keeps the old one).

    Raises:
        ValidationError: A field is wrong.
        PermissionDeniedError: Not an admin.
    """
    actor.require_admin("changing mail settings")
    problems: list[ValidationError] = []  # every wrong field at once
    if new.security not in SECURITY_MODES:
        problems.append(
            ValidationError("security must be plain, starttls or tls", field="security")
        )
    if not 0 < new.port < 65536:
        problems.append(ValidationError("port must be 1-65535", field="smtp_server"))
    try:
        check_email(new.sender_address, "sender_address")
    except ValidationError as err:
        problems.append(err)
    if len(new.sender_name) > 100 or any(c in new.sender_name for c in '\r\n<>"'):
        problems.append(
            ValidationError(
                "sender name must be up to 100 characters without <, >, quotes or line breaks",
                field="sender_name",
            )
        )
    if len(new.username) > 200 or any(c in new.username for c in "\r\n"):
        problems.append(
            ValidationError("user name is too long or has line breaks", field="smtp_username")
        )
    raise_collected(problems)
    value: dict[str, Any] = {
        f.name: getattr(new, f.name) for f in fields(new) if f.name != "password"
    }
    async with db.transaction() as s:
        row = await _get(s, MAIL_KEY)
        if row is None:
            row = SettingRecord(key=MAIL_KEY, value={}, updated_at=clock.now())
            s.add(row)
        if new.password is not None and new.password.reveal():
            row.sealed = vault.seal(new.password.reveal().encode(), SMTP_PASSWORD_PURPOSE)
        elif not keep_password:
            row.sealed = None
        row.value = value
        row.updated_at = clock.now()
        row.updated_by = actor.name
        audit(
            s,
            actor,
            "settings.mail",
            "settings",
            MAIL_KEY,
            {k: v for k, v in value.items()},
            clock=clock,
        )


async def load_general_settings(db: Database) -> GeneralSettings:
    """Administrator e-mail and external URL."""
    async with db.reader() as s:
        row = await _get(s, GENERAL_KEY)
    if row is None:
        return GeneralSettings()
    days = row.value.get("token_days", DEFAULT_TOKEN_DAYS)
    return GeneralSettings(
        admin_email=str(row.value.get("admin_email", "")),
        external_url=str(row.value.get("external_url", "")),
        token_days=days if isinstance(days, int) else DEFAULT_TOKEN_DAYS,
        organization=str(row.value.get("organization", "")),
    )


def _organization(value: str) -> str:
    """The organisation's name: one line of printable text, at most 200 characters.

    Raises:
        ValidationError: Control characters or too long.
    """
    v = value.strip()
    if len(v) > 200 or any(not c.isprintable() for c in v):
        raise ValidationError(
            "the organisation name must be one line of at most 200 printable characters",
            field="organization",
        )
    return v


async def save_general_settings(
    db: Database, actor: Actor, new: GeneralSettings, clock: Clock
) -> GeneralSettings:
    """Validate and store the general settings.

    Raises:
        ValidationError: A field is wrong.
        PermissionDeniedError: Not an admin.
    """
    actor.require_admin("changing settings")
    problems: list[ValidationError] = []  # every wrong field at once

    def checked(check: Callable[[], T], default: T) -> T:
        try:
            return check()
        except ValidationError as err:
            problems.append(err)
            return default

    days = new.token_days
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_TOKEN_DAYS:
        problems.append(
            ValidationError(
                f"API token lifetime must be 0 (never expire) to {MAX_TOKEN_DAYS} days",
                field="token_days",
            )
        )
    clean = GeneralSettings(
        admin_email=",".join(checked(lambda: check_emails(new.admin_email, "admin_email"), [])),
        external_url=checked(lambda: check_url(new.external_url, "external_url"), ""),
        token_days=days,
        organization=checked(lambda: _organization(new.organization), ""),
    )
    raise_collected(problems)
    async with db.transaction() as s:
        row = await _get(s, GENERAL_KEY)
        if row is None:
            row = SettingRecord(key=GENERAL_KEY, value={}, updated_at=clock.now())
            s.add(row)
        row.value = asdict(clean)
        row.updated_at = clock.now()
        row.updated_by = actor.name
        audit(s, actor, "settings.general", "settings", GENERAL_KEY, asdict(clean), clock=clock)
    return clean


def _new_metrics_token() -> str:
    return METRICS_TOKEN_PREFIX + secrets.token_urlsafe(32)


async def _store_metrics_token(
    s: AsyncSession, vault: MasterKey, actor_name: str, clock: Clock, *, replace: bool
) -> bool:
    row = await _get(s, METRICS_KEY)
    if row is not None and row.sealed and not replace:
        return False
    if row is None:
        row = SettingRecord(key=METRICS_KEY, value={}, updated_at=clock.now())
        s.add(row)
    row.sealed = vault.seal(_new_metrics_token().encode(), METRICS_TOKEN_PURPOSE)
    row.updated_at = clock.now()
    row.updated_by = actor_name
    return True


async def ensure_metrics_token(db: Database, vault: MasterKey, clock: Clock) -> None:
    """Generate the ``/metrics`` bearer token unless there is one (at ``init`` and at start-up)."""
    async with db.reader() as s:
        row = await _get(s, METRICS_KEY)
        if row is not None and row.sealed:
            return
    try:
        async with db.transaction() as s:
            await _store_metrics_token(s, vault, "certmgr", clock, replace=False)
    except IntegrityError:
        pass  # another replica starting at the same moment made it


async def regenerate_metrics_token(
    db: Database, vault: MasterKey, actor: Actor, clock: Clock
) -> None:
    """Replace the ``/metrics`` token (the old one stops working at once).

    Raises:
        PermissionDeniedError: Not an admin.
    """
    actor.require_admin("changing the metrics token")
    async with db.transaction() as s:
        await _store_metrics_token(s, vault, actor.name, clock, replace=True)
        audit(s, actor, "settings.metrics-token", "settings", METRICS_KEY, {}, clock=clock)


async def load_metrics_token(db: Database, vault: MasterKey) -> Secret[str] | None:
    """The ``/metrics`` token (sealed at rest), for admins to copy into Prometheus."""
    async with db.reader() as s:
        row = await _get(s, METRICS_KEY)
    if row is None or not row.sealed:
        return None
    return Secret(vault.unseal(row.sealed, METRICS_TOKEN_PURPOSE).decode())


async def metrics_token_matches(db: Database, vault: MasterKey, given: str) -> bool:
    """True when ``given`` is the ``/metrics`` token (compared in constant time)."""
    if not given.startswith(METRICS_TOKEN_PREFIX) or len(given) > 200:
        return False
    token = await load_metrics_token(db, vault)
    return token is not None and hmac.compare_digest(given.encode(), token.reveal().encode())
