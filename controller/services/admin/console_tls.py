"""The console's own HTTPS certificate: which definition it comes from, and its files in ``tls/``.

The console serves the current certificate of one definition: "certmgr console" (made at ``init``,
renewed by the private CA like any other) unless ``certmgr console use DEFINITION`` chose another
(one from a public CA, say). The choice is a database setting, so every replica serves the same
certificate; each replica writes its own ``tls/console.pem`` and ``tls/console.key`` (the key
encrypted with a password derived from the master key) and reloads its TLS context when the
definition's current certificate changes (``controller/console_tls.py``).
"""

from __future__ import annotations

import asyncio
import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, PrivateKeyRecord, SettingRecord
from certmgr.controller.db.queries.definitions import definition_by_ref
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import chain_of, unseal_key
from certmgr.controller.settings import Settings
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConfigurationError, NotFoundError, ValidationError

CONSOLE_DEFINITION = "certmgr console"
CONSOLE_CERT = "console.pem"
CONSOLE_KEY = "console.key"
CONSOLE_TLS_SETTING = "console-tls"


@dataclass(frozen=True)
class ConsoleCertificate:
    """Which certificate the console should serve now."""

    definition: str
    certificate_id: int | None
    sha256: str
    not_after: str


def console_key_password(vault: MasterKey) -> bytes:
    """The password of the console's encrypted key file (derived from the master key)."""
    return base64.urlsafe_b64encode(vault.derive("console-tls-key").reveal())


async def console_definition(db: Database) -> str:
    """The name of the definition the console serves ("certmgr console" unless changed)."""
    async with db.reader() as s:
        row = await s.get(SettingRecord, CONSOLE_TLS_SETTING)
    name = row.value.get("definition") if row is not None else None
    return name if isinstance(name, str) and name else CONSOLE_DEFINITION


async def wanted_certificate(db: Database) -> ConsoleCertificate:
    """The console definition and its current certificate (two small reads; polled by replicas).

    Raises:
        NotFoundError: The chosen definition no longer exists.
    """
    name = await console_definition(db)
    async with db.reader() as s:
        d = await definition_by_ref(s, name)
        cert = (
            await s.get(Certificate, d.current_certificate_id)
            if d.current_certificate_id is not None
            else None
        )
    if cert is None:
        return ConsoleCertificate(name, None, "", "")
    return ConsoleCertificate(name, cert.id, cert.sha256, cert.not_after.isoformat())


async def _material(db: Database, vault: MasterKey, name: str) -> tuple[Certificate, bytes, bytes]:
    """The definition's current certificate, its full chain (PEM) and its key (encrypted PKCS#8).

    Raises:
        NotFoundError: No such definition.
        ValidationError: No current certificate, or its key is not in the repository.
    """
    async with db.reader() as s:
        d = await definition_by_ref(s, name)
        if d.current_certificate_id is None:
            raise ValidationError(f"definition {name!r} has no current certificate")
        cert = await s.get(Certificate, d.current_certificate_id)
        assert cert is not None  # noqa: S101 - a foreign key
        if cert.private_key_id is None:
            raise ValidationError(
                f"the current certificate of {name!r} has no private key in the repository "
                "(its key lives on an agent); the console needs one it can read"
            )
        krow = await s.get(PrivateKeyRecord, cert.private_key_id)
        assert krow is not None  # noqa: S101 - a foreign key
        chain = await chain_of(s, cert.id)
    ders = [r.der for r in [cert, *chain] if not (r.self_signed and r is not cert)]

    def encode() -> tuple[bytes, bytes]:
        try:
            key = unseal_key(krow, vault)
        except NotFoundError as err:
            raise ValidationError(str(err)) from err
        pem = b"".join(
            x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
            for der in ders
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(console_key_password(vault)),
        )
        return pem, key_pem

    pem, key_pem = await asyncio.to_thread(encode)
    return cert, pem, key_pem


async def write_console_files(
    db: Database, vault: MasterKey, settings: Settings, name: str | None = None
) -> ConsoleCertificate:
    """Write the console definition's current certificate (full chain) and key to ``tls/``.

    Raises:
        ConfigurationError: The definition has no current certificate with a key in the repository.
    """
    name = name or await console_definition(db)
    try:
        cert, pem, key_pem = await _material(db, vault, name)
    except (ValidationError, NotFoundError) as err:
        raise ConfigurationError(f"cannot write the console certificate: {err}") from err

    def write() -> None:
        settings.tls_dir.mkdir(mode=0o700, exist_ok=True)
        # key first: a reader that sees the new certificate must find its key
        write_atomic(settings.tls_dir / CONSOLE_KEY, key_pem, 0o600)
        write_atomic(settings.tls_dir / CONSOLE_CERT, pem, 0o644)

    await asyncio.to_thread(write)
    return ConsoleCertificate(name, cert.id, cert.sha256, cert.not_after.isoformat())


async def use_console_definition(
    db: Database, vault: MasterKey, actor: Actor, settings: Settings, name: str, clock: Clock
) -> ConsoleCertificate:
    """Serve the current certificate of definition ``name`` on the console (every replica).

    The definition is checked first (current certificate, key in the repository, a name the
    console's clients can use is the operator's business); nothing changes when it fails.

    Raises:
        PermissionDeniedError: Not an admin.
        NotFoundError: No such definition.
        ValidationError: No current certificate, or its key is not in the repository.
    """
    actor.require_admin("choosing the console certificate")
    async with db.reader() as s:
        canonical = (await definition_by_ref(s, name)).name
    cert, _pem, _key = await _material(db, vault, canonical)
    async with db.transaction() as s:
        row = await s.get(SettingRecord, CONSOLE_TLS_SETTING)
        if row is None:
            row = SettingRecord(key=CONSOLE_TLS_SETTING, value={}, updated_at=clock.now())
            s.add(row)
        row.value = {"definition": canonical}
        row.updated_at = clock.now()
        row.updated_by = actor.name
        audit(
            s,
            actor,
            "settings.console-tls",
            "definition",
            canonical,
            {"certificate": cert.id, "sha256": cert.sha256},
            clock=clock,
        )
    return await write_console_files(db, vault, settings, canonical)


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` created with ``mode`` (never wider), fsynced; blocking."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # a leftover temporary file keeps its old mode through O_CREAT
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
