"""ACME accounts: register at a directory (key sealed), list, and load for ordering.

Adding an account is an admin action: it makes the controller fetch the URL it is given. Until a
real ACME directory has answered, every failure reads the same (:data:`UNREACHABLE`), so the
field cannot be used to tell a closed port from a listening service that is not ACME.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AcmeAccount, CertificateDefinition, CertificateRequest
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import ONGOING_REQUEST
from certmgr.controller.services.admin.settings import check_email, check_url
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    ConflictError,
    NotFoundError,
    UpstreamError,
    UpstreamRejectedError,
    ValidationError,
)
from certmgr.shared.secret import Secret

if TYPE_CHECKING:
    from certmgr.controller.issuers.acme import AccountRecord, AcmeAccountSpec

ACCOUNT_KEY_PURPOSE = "acme-account-key"
DNS_SECRET_PURPOSE = "dns-tsig-secret"  # noqa: S105 - a label
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
UNREACHABLE = "could not reach an ACME directory at that URL"
DIRECTORY_TIMEOUT = 15.0


@dataclass(frozen=True)
class NewAcmeAccount:
    """What ``certmgr acme account add`` asks for."""

    name: str
    directory_url: str
    contact_email: str = ""
    eab_kid: str = ""
    eab_hmac: Secret[str] | None = None
    ca_bundle_pem: bytes | None = None
    profile: str = ""
    challenge: str = "http-01"
    dns_server: str = ""
    dns_zone: str = ""
    dns_key_name: str = ""
    dns_key_secret: Secret[str] | None = None
    dns_algorithm: str = "hmac-sha256"


def check_account_name(name: str) -> None:
    """Check an account name on its own (a form reports it beside the other fields).

    Raises:
        ValidationError: Not 1-100 letters, digits, '.', '_' or '-'.
    """
    if not _NAME.match(name):
        raise ValidationError(
            "the account name may hold letters, digits, '.', '_' or '-' (up to 100)",
            field="name",
        )


def _check_spec(spec: NewAcmeAccount) -> str:
    """The checked directory URL.

    Raises:
        ValidationError: Bad name, URL, EAB or DNS-01 settings.
    """
    check_account_name(spec.name)
    url = check_url(spec.directory_url, "directory")
    if not url:
        raise ValidationError("the directory URL is required", field="directory")
    if bool(spec.eab_kid) != bool(spec.eab_hmac):
        raise ValidationError(
            "external account binding needs both its key id and its HMAC key (your CA gives both)",
            field="eab",
        )
    if spec.challenge not in ("http-01", "dns-01"):
        raise ValidationError("challenge must be http-01 or dns-01", field="challenge")
    if spec.challenge == "dns-01" and not (
        spec.dns_server and spec.dns_zone and spec.dns_key_name and spec.dns_key_secret
    ):
        raise ValidationError(
            "DNS-01 needs the DNS server, zone, TSIG key name and secret", field="dns"
        )
    return url


async def add_acme_account(
    db: Database, vault: MasterKey, actor: Actor, spec: NewAcmeAccount, clock: Clock
) -> AcmeAccount:
    """Register an account at the CA and store it (key and secrets sealed).

    Raises:
        PermissionDeniedError: Not an admin.
        ValidationError: Bad name, URL, e-mail or EAB settings.
        ConflictError: The name is taken.
        UpstreamError: No ACME directory answered at the URL (one message whatever the cause).
        UpstreamRejectedError: The CA's directory answered and the CA refused the account (its
            problem detail included).
    """
    actor.require_admin("adding an ACME account")
    # lazy: the ACME client (acme, josepy, requests) takes ~0.5 s to load; listing commands
    # and the console's other screens never need it
    from certmgr.controller.issuers.acme import AcmeAccountSpec, directory_features

    url = _check_spec(spec)
    async with db.reader() as s:
        if (await s.execute(select(AcmeAccount.id).where(AcmeAccount.name == spec.name))).first():
            raise ConflictError(f"an ACME account named {spec.name!r} exists")
    contact = check_email(spec.contact_email, "email") or None
    try:
        await directory_features(url, ca_bundle_pem=spec.ca_bundle_pem, timeout=DIRECTORY_TIMEOUT)
    except UpstreamError:
        raise UpstreamError(UNREACHABLE) from None  # the cause is the oracle: not even chained
    record = await _register(
        AcmeAccountSpec(
            directory_url=url,
            contact_email=contact,
            eab_kid=spec.eab_kid or None,
            eab_hmac_key=spec.eab_hmac,
            ca_bundle_pem=spec.ca_bundle_pem,
            profile=spec.profile or None,
        )
    )
    async with db.transaction() as s:
        row = AcmeAccount(
            name=spec.name,
            directory_url=url,
            contact_email=spec.contact_email,
            account_url=record.account_url,
            sealed_key=vault.seal(record.key_pkcs8.reveal(), ACCOUNT_KEY_PURPOSE),
            eab_kid=spec.eab_kid,
            ca_bundle_pem=spec.ca_bundle_pem.decode() if spec.ca_bundle_pem else "",
            profile=spec.profile,
            challenge=spec.challenge,
            dns={
                "server": spec.dns_server,
                "zone": spec.dns_zone,
                "key_name": spec.dns_key_name,
                "algorithm": spec.dns_algorithm,
            }
            if spec.challenge == "dns-01"
            else {},
            sealed_dns_secret=vault.seal(spec.dns_key_secret.reveal().encode(), DNS_SECRET_PURPOSE)
            if spec.dns_key_secret
            else None,
            status=record.status,
            created_at=clock.now(),
        )
        s.add(row)
        await s.flush()
        audit(
            s,
            actor,
            "acme.account-add",
            "acme-account",
            row.id,
            {"name": row.name, "directory": url, "eab": bool(spec.eab_kid)},
            clock=clock,
        )
    return row


async def _register(spec: AcmeAccountSpec) -> AccountRecord:
    """Register; only a refusal the CA stated in an ACME problem document keeps its detail."""
    # lazy: the ACME client (acme, josepy, requests) takes ~0.5 s to load; listing commands
    # and the console's other screens never need it
    from certmgr.controller.issuers.acme import register_account

    try:
        return await register_account(spec)
    except UpstreamRejectedError as err:
        if getattr(err, "problem_type", None):
            raise
        raise UpstreamError(UNREACHABLE) from None
    except UpstreamError:
        raise UpstreamError(UNREACHABLE) from None


async def find_account(db: Database, ref: str | int) -> AcmeAccount:
    """An account by id or name.

    Raises:
        NotFoundError: No such account.
    """
    async with db.reader() as s:
        row = None
        if isinstance(ref, int) or str(ref).isdigit():
            row = await s.get(AcmeAccount, int(ref))
        if row is None:
            row = (
                await s.execute(select(AcmeAccount).where(AcmeAccount.name == str(ref)))
            ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no ACME account {ref!r} (add one with 'certmgr acme account add')")
    return row


def account_record(row: AcmeAccount, vault: MasterKey) -> AccountRecord:
    """The account as the ACME client needs it (key unsealed into a ``Secret``)."""
    # lazy: the ACME client (acme, josepy, requests) takes ~0.5 s to load; listing commands
    # and the console's other screens never need it
    from certmgr.controller.issuers.acme import AccountRecord

    return AccountRecord(
        directory_url=row.directory_url,
        account_url=row.account_url,
        key_pkcs8=Secret(vault.unseal(row.sealed_key, ACCOUNT_KEY_PURPOSE)),
        contact_email=row.contact_email or None,
        ca_bundle_pem=row.ca_bundle_pem.encode() if row.ca_bundle_pem else None,
        profile=row.profile or None,
        status=row.status,
        eab_kid=row.eab_kid or None,
    )


async def delete_acme_account(db: Database, actor: Actor, ref: str | int, clock: Clock) -> str:
    """Forget an ACME account that no definition and no open request uses; returns its name.

    The account stays registered at the CA; certmgr drops its sealed key.

    Raises:
        PermissionDeniedError: Not an admin.
        NotFoundError: No such account.
        ConflictError: A definition or an open request still uses it.
    """
    actor.require_admin("deleting an ACME account")
    row = await find_account(db, ref)
    async with db.transaction() as s:
        users = (
            (
                await s.execute(
                    select(CertificateDefinition.name)
                    .where(CertificateDefinition.acme_account_id == row.id)
                    .order_by(CertificateDefinition.name)
                    .limit(4)
                )
            )
            .scalars()
            .all()
        )
        if users:
            raise ConflictError(
                f"the ACME account {row.name!r} is used by {', '.join(users[:3])}"
                f"{' and more' if len(users) > 3 else ''}: give those definitions another "
                "account first"
            )
        open_request = (
            await s.execute(
                select(CertificateRequest.id)
                .where(CertificateRequest.acme_account_id == row.id)
                .where(CertificateRequest.status.in_([st.value for st in ONGOING_REQUEST]))
                .limit(1)
            )
        ).first()
        if open_request:
            raise ConflictError(
                f"the ACME account {row.name!r} has an open request: finish or cancel it first"
            )
        await s.execute(delete(AcmeAccount).where(AcmeAccount.id == row.id))
        audit(
            s, actor, "acme.account-delete", "acme-account", row.id, {"name": row.name}, clock=clock
        )
    return row.name


async def list_accounts(db: Database) -> list[AcmeAccount]:
    """All ACME accounts."""
    async with db.reader() as s:
        return list(
            (await s.execute(select(AcmeAccount).order_by(AcmeAccount.name))).scalars().all()
        )
