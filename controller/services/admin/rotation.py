"""Master-key rotation: re-seal every sealed value with a new key, in one transaction."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    AcmeAccount,
    CertificateAuthority,
    ConsoleSession,
    PrivateKeyRecord,
    SettingRecord,
    VendorAccount,
    Webhook,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.acquisition.private_ca import CA_KEY_PURPOSE
from certmgr.controller.services.admin.reveal import REVEAL_PURPOSE
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import KEY_PURPOSE
from certmgr.controller.vault import MasterKey, write_master_key

# (model, column, purpose) of every sealed column; later features add theirs here.
SEALED_COLUMNS: tuple[tuple[type, str, str], ...] = (
    (PrivateKeyRecord, "sealed_pkcs8", KEY_PURPOSE),
    (CertificateAuthority, "sealed_key", CA_KEY_PURPOSE),
    (AcmeAccount, "sealed_key", "acme-account-key"),
    (AcmeAccount, "sealed_dns_secret", "dns-tsig-secret"),
    (VendorAccount, "sealed_password", "vendor-password"),
    (Webhook, "sealed_secret", "webhook-secret"),
    (ConsoleSession, "sealed_reveal", REVEAL_PURPOSE),
)
# Settings rows seal different things; the purpose goes by the row's key.
SEALED_SETTINGS: dict[str, str] = {
    "mail": "smtp-password",
    "controller-signing-key": "controller-signing-key",
}


async def rotate_master_key(
    db: Database, key_path: Path, old: MasterKey, actor: Actor, *, drop_old: bool = False
) -> tuple[int, str]:
    """Add a new active key, re-seal everything with it, then save the key file.

    The key file is written (with old keys kept) before the database commits, so a crash
    in between leaves every value readable.

    Returns:
        (number of values re-sealed, id of the new key)

    Raises:
        UnsealError: A stored value could not be opened with the current keys.
    """
    actor.require_admin("rotating the master key")
    new = old.with_new_key()
    write_master_key(key_path, new)
    count = 0
    async with db.transaction() as s:
        for model, column, purpose in SEALED_COLUMNS:
            rows: list[object] = list((await s.execute(select(model))).scalars().all())
            for row in rows:
                sealed = getattr(row, column)
                if sealed is None:
                    continue
                setattr(row, column, new.seal(new.unseal(sealed, purpose), purpose))
                count += 1
        for setting in (await s.execute(select(SettingRecord))).scalars().all():
            setting_purpose = SEALED_SETTINGS.get(setting.key)
            if setting.sealed is not None and setting_purpose is not None:
                setting.sealed = new.seal(
                    new.unseal(setting.sealed, setting_purpose), setting_purpose
                )
                count += 1
        audit(s, actor, "master-key.rotate", "vault", new.active_kid, {"resealed": count})
    if drop_old:
        write_master_key(key_path, new.only_active())
    return count, new.active_kid
