"""What every private-CA operation shares: where the CA writes, its CRL URLs, its sealed key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.models import Certificate, CertificateAuthority
from certmgr.controller.db.queries.certificates import certificate_by_id, chain_rows
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import NotFoundError
from certmgr.shared.pki import PrivateKey, private_key_from_pkcs8_der

CA_KEY_PURPOSE = "ca-key"
DEFAULT_LEAF_DAYS = 200
PUBLISHING = ("active", "superseded")
LEGACY_CRL_PATH = "/pki/crl.der"


@dataclass(frozen=True)
class CaContext:
    """Where the CA writes its public files and what URL it puts into certificates."""

    ca_dir: Path
    crl_url: str

    def crl_url_for(self, ca_id: int) -> str:
        """The CRL URL that certificates of CA ``ca_id`` carry.

        The default URL becomes per CA (``.../pki/crl/<id>.der``); a configured URL is kept as
        it is, with ``{ca}`` replaced by the CA's id when it holds that placeholder.
        """
        if self.crl_url.endswith(LEGACY_CRL_PATH):
            return f"{self.crl_url[: -len(LEGACY_CRL_PATH)]}/pki/crl/{ca_id}.der"
        return self.crl_url.replace("{ca}", str(ca_id))


def crl_file(ca_dir: Path, ca_id: int, suffix: str) -> Path:
    """Where CA ``ca_id``'s CRL is written (``suffix`` is ``der`` or ``pem``)."""
    return ca_dir / f"crl-{ca_id}.{suffix}"


def now_of(clock: Clock | None) -> dt.datetime:
    """The time now from ``clock`` (the system clock when none is given)."""
    return (clock or SystemClock()).now()


async def ca_material(
    s: AsyncSession, vault: MasterKey, ca: CertificateAuthority
) -> tuple[PrivateKey, x509.Certificate, list[Certificate]]:
    """The CA's key, its certificate, and the rows of its certificate and chain (itself first).

    Raises:
        NotFoundError: The CA has no certificate yet (a pending subordinate).
    """
    if ca.certificate_id is None:
        raise NotFoundError(f"CA {ca.name!r} has no certificate yet")
    cert_row = await certificate_by_id(s, ca.certificate_id)
    key = private_key_from_pkcs8_der(vault.unseal(ca.sealed_key, CA_KEY_PURPOSE))
    chain = await chain_rows(s, cert_row.id)
    return key, x509.load_der_x509_certificate(cert_row.der), [cert_row, *chain]


def write_ca_cert(
    ctx: CaContext,
    cert: x509.Certificate,
    chain: tuple[x509.Certificate, ...] | list[x509.Certificate] = (),
) -> None:
    """Write ``ca.pem`` (the CA certificate and its chain); blocking, run it in a worker thread."""
    ctx.ca_dir.mkdir(parents=True, exist_ok=True)
    pem = cert.public_bytes(Encoding.PEM) + b"".join(c.public_bytes(Encoding.PEM) for c in chain)
    atomic_write(ctx.ca_dir / "ca.pem", pem)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` at once (temporary file, then rename); blocking."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)
