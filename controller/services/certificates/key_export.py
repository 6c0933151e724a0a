"""Exporting private keys: only as passphrase-protected PKCS#8 or PKCS#12, a key release (Admin), audited."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, PrivateKeyRecord
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.admin.users import check_password_policy
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.key_release import record_key_release
from certmgr.controller.services.certificates.store import chain_of, unseal_key
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
    async with db.transaction() as s:
        row = await s.get(PrivateKeyRecord, key_id)
        if row is None:
            raise NotFoundError(f"no private key {key_id}")
        key = unseal_key(row, vault)
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
        if fmt == "pkcs8":
            return ExportedKey(
                f"key-{key_id}.pem",
                "application/x-pem-file",
                encrypted_pkcs8_pem(key, passphrase.encode()),
            )
        cert_row = (
            await s.execute(
                select(Certificate)
                .where(Certificate.private_key_id == key_id)
                .order_by(Certificate.not_after.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if cert_row is None:
            raise NotFoundError(
                "PKCS#12 needs a certificate, and this key has none; export PKCS#8 instead"
            )
        chain = [x509.load_der_x509_certificate(c.der) for c in await chain_of(s, cert_row.id)]
        cert = x509.load_der_x509_certificate(cert_row.der)
        name = cert_row.common_name or f"key-{key_id}"
        data = pkcs12_bytes(key, cert, chain, passphrase.encode(), name)
    return ExportedKey(f"key-{key_id}.p12", "application/x-pkcs12", data)
