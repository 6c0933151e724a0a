"""The Private CA screen's read model: every CA, and the active one's chain, issued and revoked."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, CertificateAuthority, Revocation
from certmgr.controller.services.acquisition.private_ca import CaInfo, ca_info
from certmgr.controller.services.certificates.store import chain_of

ISSUED_SHOWN = 200


@dataclass(frozen=True)
class CaOverview:
    """Every CA; for the active one its chain (itself first), what it issued and revoked."""

    infos: list[CaInfo]
    active: CaInfo | None
    chain: list[Certificate] = field(default_factory=list)
    issued: list[Certificate] = field(default_factory=list)  # newest first, at most 200
    revoked: list[Revocation] = field(default_factory=list)  # newest first

    @property
    def revoked_serials(self) -> set[str]:
        """Serial numbers (hex) of the revoked certificates."""
        return {r.serial_hex for r in self.revoked}


async def ca_overview(db: Database) -> CaOverview:
    """What the Private CA screen shows."""
    infos = await ca_info(db)
    active = next((i for i in infos if i.status == "active"), None)
    if active is None:
        return CaOverview(infos, None)
    async with db.reader() as s:
        ca = await s.get(CertificateAuthority, active.id)
        assert ca is not None  # noqa: S101 - listed just now
        assert ca.certificate_id is not None  # noqa: S101 - active implies a certificate
        ca_cert = await s.get(Certificate, ca.certificate_id)
        assert ca_cert is not None  # noqa: S101
        chain = [ca_cert, *await chain_of(s, ca_cert.id)]
        issued = (
            await s.execute(
                select(Certificate)
                .where(Certificate.issuer == ca_cert.subject, Certificate.id != ca_cert.id)
                .order_by(Certificate.id.desc())
                .limit(ISSUED_SHOWN)
            )
        ).scalars()
        revoked = (
            await s.execute(
                select(Revocation)
                .where(Revocation.ca_id == ca.id)
                .order_by(Revocation.revoked_at.desc())
            )
        ).scalars()
        return CaOverview(infos, active, chain, list(issued.all()), list(revoked.all()))
