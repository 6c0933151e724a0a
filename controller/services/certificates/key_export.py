"""Exporting private keys: only as passphrase-protected PKCS#8 or PKCS#12, a key release (Admin), audited."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import PrivateKeyRecord
from certmgr.controller.db.queries.certificates import chain_rows
from certmgr.controller.db.queries.keys import newest_certificate_for_key
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.admin.users import check_password_policy
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.key_release import record_key_release
from certmgr.controller.services.certificates.store import load_der, unseal_key
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import NotFoundError, ValidationError
from certmgr.shared.pki import encrypted_pkcs8_pem, pkcs12_bytes

FORMATS = ("pkcs8", "pkcs12")


@dataclass(frozen=True)
class ExportedKey:
    """The encrypted file to hand over."""

    filename: str
    content_type: str
    data: bytes


async def export_key(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    key_id: int,
    fmt: str,
    passphrase: str,
    clock: Clock,
) -> ExportedKey:
    """Encrypt a stored key for download.

    Raises:
        PermissionDeniedError: The actor may not release keys (not an admin).
        ValidationError: Unknown format or a weak passphrase.
        NotFoundError: No such key, or (PKCS#12) no certificate for it.
    """
    actor.require_key_release("exporting a private key", f"a download for {actor.name}")
    if fmt not in FORMATS:
        raise ValidationError("format must be pkcs8 or pkcs12", field="format")
    check_password_policy(passphrase, field="passphrase")
    async with db.reader() as s:
        row = await s.get(PrivateKeyRecord, key_id)
        if row is None:
            raise NotFoundError(f"no private key {key_id}")
        key = unseal_key(row, vault)
        cert_row = await newest_certificate_for_key(s, key_id) if fmt == "pkcs12" else None
        if fmt == "pkcs12" and cert_row is None:
            raise NotFoundError(
                "PKCS#12 needs a certificate, and this key has none; export PKCS#8 instead"
            )
        chain = await chain_rows(s, cert_row.id) if cert_row is not None else []
    # the encryption (and PKCS#12 encoding) takes CPU time: off the loop, before the transaction
    if cert_row is None:
        out = ExportedKey(
            f"key-{key_id}.pem",
            "application/x-pem-file",
            await asyncio.to_thread(encrypted_pkcs8_pem, key, passphrase.encode()),
        )
    else:
        name = cert_row.common_name or f"key-{key_id}"
        data = await asyncio.to_thread(
            pkcs12_bytes, key, load_der([cert_row])[0], load_der(chain), passphrase.encode(), name
        )
        out = ExportedKey(f"key-{key_id}.p12", "application/x-pkcs12", data)
    async with db.transaction() as s:
        audit(
            s,
            actor,
            "key.export",
            "key",
            key_id,
            {"format": fmt, "public_sha256": row.public_sha256},
            clock=clock,
        )
        record_key_release(
            s,
            actor,
            what=f"export-{fmt}",
            to_whom=f"download by {actor.name} ({actor.source or 'unknown source'})",
            key_id=key_id,
            clock=clock,
            detail={"public_sha256": row.public_sha256},
        )
    return out
