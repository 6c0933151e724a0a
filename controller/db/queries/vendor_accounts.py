"""Queries of vendor accounts and what refers to one."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import CertificateDefinition, CertificateRequest, VendorAccount
from certmgr.shared.errors import NotFoundError


async def vendor_account_by_ref(s: AsyncSession, ref: str | int) -> VendorAccount:
    """A vendor account by id or exact name.

    Raises:
        NotFoundError: No such account.
    """
    row: VendorAccount | None = None
    if isinstance(ref, int) or ref.isdigit():
        row = await s.get(VendorAccount, int(ref))
    if row is None and isinstance(ref, str):
        row = (
            await s.execute(select(VendorAccount).where(VendorAccount.name == ref))
        ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no vendor account {ref!r}")
    return row


async def vendor_account_name_taken(s: AsyncSession, name: str, *, other_than: int) -> bool:
    """True when another account has this name."""
    found = (
        await s.execute(
            select(VendorAccount.id).where(
                VendorAccount.name == name, VendorAccount.id != other_than
            )
        )
    ).first()
    return found is not None


async def references_to_vendor_account(s: AsyncSession, account_id: int) -> dict[str, int]:
    """How many definitions and requests name the account (zero counts left out)."""
    out: dict[str, int] = {}
    for label, model in (("definitions", CertificateDefinition), ("requests", CertificateRequest)):
        n = (
            await s.execute(
                select(func.count(model.id)).where(model.vendor_account_id == account_id)
            )
        ).scalar_one()
        if n:
            out[label] = int(n)
    return out
