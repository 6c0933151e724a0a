"""Vendor accounts: logins at commercial CAs' shops (password sealed); one account may serve several vendors."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import VendorAccount
from certmgr.controller.db.queries.vendor_accounts import (
    references_to_vendor_account,
    vendor_account_by_ref,
    vendor_account_name_taken,
)
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


@dataclass(frozen=True)
class VendorAccountChanges:
    """What to change; ``None`` leaves a field as it is. ``clear_password`` forgets the stored one."""

    name: str | None = None
    vendors: tuple[str, ...] | None = None
    login_name: str | None = None
    password: Secret[str] | None = field(default=None, repr=False)
    clear_password: bool = False
    registered_email: str | None = None
    notes: str | None = None


async def find_vendor_account(db: Database, ref: str | int) -> VendorAccount:
    """A vendor account by id or name.

    Raises:
        NotFoundError: No such account.
    """
    async with db.reader() as s:
        return await vendor_account_by_ref(s, ref)


async def edit_vendor_account(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    ref: str | int,
    changes: VendorAccountChanges,
    clock: Clock,
) -> VendorAccount:
    """Change a vendor account (a new password is sealed; it never goes into the audit record).

    Raises:
        NotFoundError: No such account.
        ValidationError: A bad field (named), or nothing to change.
        ConflictError: The new name is taken.
    """
    sealed = (
        vault.seal(changes.password.reveal().encode(), PASSWORD_PURPOSE)
        if changes.password is not None and changes.password.reveal()
        else None
    )
    async with db.transaction() as s:
        row = await vendor_account_by_ref(s, ref)
        changed: dict[str, object] = {}
        if changes.name is not None:
            name = changes.name.strip()
            if not name or len(name) > 100:
                raise ValidationError("name: 1-100 characters", field="name")
            if name != row.name:
                if await vendor_account_name_taken(s, name, other_than=row.id):
                    raise ConflictError(f"a vendor account named {name!r} exists")
                changed["name"] = {"from": row.name, "to": name}
                row.name = name
        if changes.vendors is not None:
            vendors = [v.strip()[:100] for v in changes.vendors if v.strip()]
            if not vendors:
                raise ValidationError(
                    "name at least one vendor this account is for", field="vendors"
                )
            if vendors != list(row.vendors):
                changed["vendors"] = {"from": list(row.vendors), "to": vendors}
                row.vendors = vendors
        if changes.login_name is not None and changes.login_name.strip() != row.login_name:
            if len(changes.login_name) > 200:
                raise ValidationError(
                    "login name too long (200 characters at most)", field="login_name"
                )
            changed["login_name"] = {"from": row.login_name, "to": changes.login_name.strip()}
            row.login_name = changes.login_name.strip()
        if changes.registered_email is not None:
            email = check_email(changes.registered_email, "registered_email")
            if email != row.registered_email:
                changed["registered_email"] = {"from": row.registered_email, "to": email}
                row.registered_email = email
        if changes.notes is not None and changes.notes != row.notes:
            if len(changes.notes) > 10000:
                raise ValidationError("notes too long (10,000 characters at most)", field="notes")
            changed["notes"] = True
            row.notes = changes.notes
        if sealed is not None:
            row.sealed_password = sealed
            changed["password"] = "replaced"  # noqa: S105 - what happened, not a password
        elif changes.clear_password and row.sealed_password is not None:
            row.sealed_password = None
            changed["password"] = "cleared"  # noqa: S105 - what happened, not a password
        if not changed:
            given = [
                changes.name,
                changes.vendors,
                changes.login_name,
                changes.password,
                changes.registered_email,
                changes.notes,
            ]
            if all(v is None for v in given) and not changes.clear_password:
                raise ValidationError("nothing to change: give at least one field", field="name")
            return row
        audit(s, actor, "vendor-account.edit", "vendor-account", row.id, changed, clock=clock)
        return row


async def delete_vendor_account(db: Database, actor: Actor, ref: str | int, clock: Clock) -> str:
    """Delete a vendor account no definition or request names; returns its name.

    Raises:
        NotFoundError: No such account.
        ConflictError: Definitions or requests name it (counted).
    """
    async with db.transaction() as s:
        row = await vendor_account_by_ref(s, ref)
        refs = await references_to_vendor_account(s, row.id)
        if refs:
            what = ", ".join(f"{n} {label}" for label, n in refs.items())
            raise ConflictError(
                f"vendor account {row.name!r} cannot be deleted: {what} refer to it"
            )
        name, account_id = row.name, row.id
        await s.delete(row)
        audit(
            s,
            actor,
            "vendor-account.delete",
            "vendor-account",
            account_id,
            {"name": name},
            clock=clock,
        )
        return name
