"""The current certificate of a definition with its chain and key, ready to package (key in memory only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import Certificate, CertificateDefinition, PrivateKeyRecord
from certmgr.controller.services.certificates.store import chain_of, unseal_key
from certmgr.controller.vault import MasterKey
from certmgr.shared.errors import ConflictError
from certmgr.shared.packagefiles import safe_stem
from certmgr.shared.pki import PrivateKey


@dataclass(frozen=True)
class CurrentMaterial:
    """Certificate, chain (issuer first, roots left out) and key of a definition's current certificate."""

    row: Certificate
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: PrivateKey | None = field(repr=False)
    key_on_agent: bool = False

    @property
    def name(self) -> str:
        """A file-name friendly name."""
        return safe_stem(self.row.common_name or f"certificate-{self.row.id}")


@dataclass(frozen=True)
class MaterialRows:
    """The stored rows behind a definition's current certificate (nothing unsealed or parsed yet)."""

    definition_name: str
    row: Certificate
    chain: tuple[Certificate, ...]
    key_row: PrivateKeyRecord | None = field(repr=False)


async def current_material_rows(s: AsyncSession, d: CertificateDefinition) -> MaterialRows:
    """Read the current certificate, its chain (roots left out) and its key row.

    Raises:
        ConflictError: No current certificate.
    """
    if d.current_certificate_id is None:
        raise ConflictError(
            f"definition {d.name!r} has no current certificate yet; acquire or import one first"
        )
    row = await s.get(Certificate, d.current_certificate_id)
    assert row is not None  # noqa: S101 - FK
    chain_rows = tuple(c for c in await chain_of(s, row.id) if not c.self_signed)
    krow = None
    if row.private_key_id is not None:
        krow = await s.get(PrivateKeyRecord, row.private_key_id)
        assert krow is not None  # noqa: S101 - FK
    return MaterialRows(d.name, row, chain_rows, krow)


def build_material(
    rows: MaterialRows, vault: MasterKey, *, need_key: bool = True
) -> CurrentMaterial:
    """Unseal the key and parse the certificates (CPU work: callers on the loop use a thread).

    Raises:
        ConflictError: No key although one is needed.
    """
    key = None
    on_agent = False
    if rows.key_row is not None:
        if rows.key_row.sealed_pkcs8 is None:
            on_agent = True
        else:
            key = unseal_key(rows.key_row, vault)
    if need_key and key is None and not on_agent:
        raise ConflictError(
            f"the current certificate of {rows.definition_name!r} has no private key in the "
            "repository; import the key first"
        )
    return CurrentMaterial(
        rows.row,
        x509.load_der_x509_certificate(rows.row.der),
        tuple(x509.load_der_x509_certificate(c.der) for c in rows.chain),
        key,
        on_agent,
    )


async def current_material(
    s: AsyncSession, vault: MasterKey, d: CertificateDefinition, *, need_key: bool = True
) -> CurrentMaterial:
    """Load what a deployment installs (one definition: unsealed on the caller's thread).

    Raises:
        ConflictError: No current certificate, or no key although one is needed.
    """
    return build_material(await current_material_rows(s, d), vault, need_key=need_key)
