"""Vendor accounts: logins at commercial CAs' shops (password sealed); one account may serve several vendors."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import VendorAccount
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.admin.settings import check_email
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, NotFoundError, ValidationError
from certmgr.shared.secret import Secret

PASSWORD_PURPOSE = "vendor-password"  # noqa: S105 - a label


@dataclass(frozen=True)
class VendorAccountSpec:
    """A vendor account as entered."""

    name: str
    vendors: tuple[str, ...]
    login_name: str = ""
    password: Secret[str] | None = field(default=None, repr=False)
    registered_email: str = ""
    notes: str = ""


async def add_vendor_account(
    db: Database, vault: MasterKey, actor: Actor, spec: VendorAccountSpec, clock: Clock
) -> VendorAccount:
    """Store a vendor account.

    Raises:
        ValidationError: Bad field.
        ConflictError: Name taken.
    """
    name = spec.name.strip()
    if not name or len(name) > 100:
        raise ValidationError("name: 1-100 characters", field="name")
    vendors = [v.strip()[:100] for v in spec.vendors if v.strip()]
    if not vendors:
        raise ValidationError("name at least one vendor this account is for", field="vendors")
    if len(spec.login_name) > 200 or len(spec.notes) > 10000:
        raise ValidationError("login name or notes too long", field="login_name")
    async with db.transaction() as s:
        if (await s.execute(select(VendorAccount.id).where(VendorAccount.name == name))).first():
            raise ConflictError(f"a vendor account named {name!r} exists")
        row = VendorAccount(
            name=name,
            vendors=vendors,
            login_name=spec.login_name.strip(),
            sealed_password=vault.seal(spec.password.reveal().encode(), PASSWORD_PURPOSE)
            if spec.password and spec.password.reveal()
            else None,
            registered_email=check_email(spec.registered_email, "registered_email"),
            notes=spec.notes,
            created_at=clock.now(),
        )
        s.add(row)
        await s.flush()
        audit(
            s,
            actor,
            "vendor-account.add",
            "vendor-account",
            row.id,
            {"name": name, "vendors": vendors},
            clock=clock,
        )
    return row


async def list_vendor_accounts(db: Database) -> list[VendorAccount]:
    """All vendor accounts."""
    async with db.reader() as s:
        return list(
            (await s.execute(select(VendorAccount).order_by(VendorAccount.name))).scalars().all()
        )


async def reveal_password(
    db: Database, vault: MasterKey, actor: Actor, account_id: int, clock: Clock
) -> str:
    """The stored password (audited; shown to the user who logs in to the vendor's shop).

    Raises:
        NotFoundError: No such account or no password stored.
    """
    async with db.transaction() as s:
        row = await s.get(VendorAccount, account_id)
        if row is None or row.sealed_password is None:
            raise NotFoundError("no stored password for that vendor account")
        audit(
            s,
            actor,
            "vendor-account.reveal-password",
            "vendor-account",
            row.id,
            {"name": row.name},
            clock=clock,
        )
        return vault.unseal(row.sealed_password, PASSWORD_PURPOSE).decode()
