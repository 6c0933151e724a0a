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


async def current_material(
    s: AsyncSession, vault: MasterKey, d: CertificateDefinition, *, need_key: bool = True
) -> CurrentMaterial:
    """Load what a deployment installs.

    Raises:
        ConflictError: No current certificate, or no key although one is needed.
    """
    if d.current_certificate_id is None:
        raise ConflictError(
            f"definition {d.name!r} has no current certificate yet; acquire or import one first"
        )
    row = await s.get(Certificate, d.current_certificate_id)
    assert row is not None  # noqa: S101 - FK
    chain_rows = [c for c in await chain_of(s, row.id) if not c.self_signed]
    key = None
    on_agent = False
    if row.private_key_id is not None:
        krow = await s.get(PrivateKeyRecord, row.private_key_id)
        assert krow is not None  # noqa: S101 - FK
        if krow.sealed_pkcs8 is None:
            on_agent = True
        else:
            key = unseal_key(krow, vault)
    if need_key and key is None and not on_agent:
        raise ConflictError(
            f"the current certificate of {d.name!r} has no private key in the repository; import the key first"
        )
    return CurrentMaterial(
        row,
        x509.load_der_x509_certificate(row.der),
        tuple(x509.load_der_x509_certificate(c.der) for c in chain_rows),
        key,
        on_agent,
    )
