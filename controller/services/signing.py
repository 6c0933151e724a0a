"""The controller's Ed25519 signing key for install packages (sealed in the settings table)."""

from __future__ import annotations

import datetime as dt

import nacl.signing

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import SettingRecord
from certmgr.controller.vault import MasterKey
from certmgr.shared.envelope import key_id

KEY = "controller-signing-key"
PURPOSE = "controller-signing-key"


async def signing_key(db: Database, vault: MasterKey) -> nacl.signing.SigningKey:
    """The controller's package signing key, made on first use."""
    async with db.reader() as s:
        row = await s.get(SettingRecord, KEY)
    if row is not None and row.sealed:
        return nacl.signing.SigningKey(vault.unseal(row.sealed, PURPOSE))
    async with db.transaction() as s:
        row = await s.get(SettingRecord, KEY)
        if row is None or not row.sealed:
            key = nacl.signing.SigningKey.generate()
            sealed = vault.seal(bytes(key), PURPOSE)
            if row is None:
                s.add(
                    SettingRecord(
                        key=KEY,
                        value={"key_id": key_id(key.verify_key)},
                        sealed=sealed,
                        updated_at=dt.datetime.now(dt.UTC),
                        updated_by="system",
                    )
                )
            else:
                row.sealed = sealed
            return key
        return nacl.signing.SigningKey(vault.unseal(row.sealed, PURPOSE))
