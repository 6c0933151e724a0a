"""Bringing what discovery found under management: import from results, or from one server.

Each import makes (or finds) the definition of the served certificate (no private key: the
server keeps it) and a monitoring-only deployment at the endpoint, confirmed because the
certificate was seen served there. The certificate's source is ``discovered``. A certificate
already in the repository is not imported again: only the deployment is added ("known
elsewhere": add a deployment here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select, update

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    Deployment,
    DiscoveredCertificate,
    DiscoveredEndpoint,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.domain.values import CertificateSource
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.imports import ImportFile, import_files
from certmgr.controller.services.deployment.deployments import (
    DeploymentSpec,
    create_deployment,
    move,
)
from certmgr.controller.services.monitoring.discovery_match import Match
from certmgr.controller.services.monitoring.discovery_views import endpoints
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import NotFoundError, ValidationError
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.tlsprobe import STARTTLS_PROTOCOLS, probe_or_raise

MAX_BULK = 1000


@dataclass(frozen=True)
class Imported:
    """What one import did."""

    where: str
    sha256: str
    certificate_id: int
    definition_id: int
    definition_name: str
    deployment_id: int
    created_certificate: bool
    created_deployment: bool
    endpoint_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The API and ``--json`` form."""
        return {
            "endpoint_id": self.endpoint_id,
            "where": self.where,
            "sha256": self.sha256,
            "certificate_id": self.certificate_id,
            "definition_id": self.definition_id,
            "definition_name": self.definition_name,
            "deployment_id": self.deployment_id,
            "created_certificate": self.created_certificate,
            "created_deployment": self.created_deployment,
        }


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _existing_deployment(
    db: Database, definition_id: int, host: str, port: int
) -> int | None:
    async with db.reader() as s:
        found: int | None = (
            await s.execute(
                select(func.min(Deployment.id)).where(
                    Deployment.definition_id == definition_id,
                    func.lower(Deployment.check_host) == host.lower(),
                    Deployment.check_port == port,
                )
            )
        ).scalar_one_or_none()
    return found


async def import_chain(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    clock: Clock,
    chain: Sequence[x509.Certificate],
    *,
    host: str,
    port: int,
    sni: str | None = None,
    starttls: str | None = None,
    note: str = "",
) -> Imported:
    """Import a served chain and add a monitoring-only deployment at ``host:port``.

    Raises:
        ValidationError: No certificate, or the served certificate is a CA certificate.
        InputError: The chain cannot be read.
    """
    if not chain:
        raise ValidationError("the server sent no certificate", field="chain")
    where = _where(host, port)
    pem = b"".join(c.public_bytes(Encoding.PEM) for c in chain)
    leaf_fp = sha256_fingerprint(chain[0])
    results = await import_files(db, vault, actor, [ImportFile(f"the server at {where}", pem)])
    leaf = next((r for r in results if r.sha256 == leaf_fp), None)
    if leaf is None or leaf.definition_id is None:
        raise ValidationError(
            f"{where} serves a CA certificate, not a server certificate: nothing to import",
            field="chain",
        )
    if leaf.created:
        async with db.transaction() as s:
            await s.execute(
                update(Certificate)
                .where(Certificate.id == leaf.certificate_id)
                .values(source=CertificateSource.DISCOVERED.value)
            )
    dep_id = await _existing_deployment(db, leaf.definition_id, host, port)
    created = dep_id is None
    if dep_id is None:
        dep = await create_deployment(
            db,
            actor,
            DeploymentSpec(
                leaf.definition_id,
                server_name=host,
                software="files",
                delivery="conventional",
                check_host=host,
                check_port=port,
                sni=sni or "",
                starttls="smtp" if starttls == "smtp" else "",
                monitoring=True,
                name=f"{where} (discovered)",
                notes=f"Monitoring only: found served here by discovery{note}. certmgr does not "
                "install anything here; renewals are deployed by whoever runs this server.",
            ),
            clock,
        )
        dep_id = dep.id
        async with db.transaction() as s:
            row = await s.get(Deployment, dep_id)
            assert row is not None  # noqa: S101 - just made
            row.starttls = starttls or ""  # any STARTTLS protocol the probe speaks
            row.certificate_id = leaf.certificate_id
            move(
                s,
                row,
                actor,
                DeploymentStatus.CONFIRMED,
                f"discovery saw this certificate served at {where}",
                clock,
                {"source": "discovery"},
            )
    async with db.transaction() as s:
        await s.execute(
            update(DiscoveredCertificate)
            .where(DiscoveredCertificate.sha256 == leaf_fp)
            .values(certificate_id=leaf.certificate_id)
        )
        audit(
            s,
            actor,
            "discovery.import",
            "deployment",
            dep_id,
            {"where": where, "sha256": leaf_fp, "definition": leaf.definition_id},
            clock=clock,
        )
        d = await s.get(CertificateDefinition, leaf.definition_id)
        name = d.name if d is not None else (leaf.definition_name or "")
    return Imported(
        where,
        leaf_fp,
        leaf.certificate_id,
        leaf.definition_id,
        name,
        dep_id,
        leaf.created,
        created,
    )


async def import_results(
    db: Database, vault: MasterKey, actor: Actor, clock: Clock, endpoint_ids: Sequence[int]
) -> list[Imported]:
    """Import the certificates of stored results (one or many), each with its deployment.

    Raises:
        ValidationError: No ids, too many, or a result that served no certificate.
        NotFoundError: An id names no result.
    """
    ids = sorted(set(endpoint_ids))
    if not ids:
        raise ValidationError("choose the results to import", field="endpoints")
    if len(ids) > MAX_BULK:
        raise ValidationError(f"at most {MAX_BULK} results at once", field="endpoints")
    views = {v.endpoint.id: v for v in await endpoints(db, ids=ids, limit=MAX_BULK)}
    missing = [i for i in ids if i not in views]
    if missing:
        raise NotFoundError(f"no discovery result {missing[0]}")
    for i in ids:
        v = views[i]
        if v.certificate is None or v.endpoint.port is None:
            raise ValidationError(
                f"result {i} ({v.endpoint.target}) served no certificate: nothing to import",
                field="endpoints",
            )
    out: list[Imported] = []
    for i in ids:
        v = views[i]
        e, c = v.endpoint, v.certificate
        assert c is not None  # noqa: S101 - checked above
        assert e.port is not None  # noqa: S101 - checked above
        chain = x509.load_pem_x509_certificates(c.chain_pem.encode()) if c.chain_pem else []
        done = await import_chain(
            db,
            vault,
            actor,
            clock,
            chain or [x509.load_der_x509_certificate(c.der)],
            host=e.address or e.target,
            port=e.port,
            sni=e.sni or None,
            starttls=e.starttls or None,
            note=f" (scan #{e.scan_id})",
        )
        async with db.transaction() as s:
            row = await s.get(DiscoveredEndpoint, e.id)
            if row is not None:
                row.imported_at = clock.now()
                row.definition_id, row.deployment_id = done.definition_id, done.deployment_id
                row.match = Match.MANAGED.value if row.match != Match.OUTDATED else row.match
        out.append(
            Imported(
                done.where,
                done.sha256,
                done.certificate_id,
                done.definition_id,
                done.definition_name,
                done.deployment_id,
                done.created_certificate,
                done.created_deployment,
                e.id,
            )
        )
    return out


async def import_from_server(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    clock: Clock,
    host: str,
    port: int = 443,
    *,
    sni: str | None = None,
    starttls: str | None = None,
    timeout: float = 10.0,
) -> Imported:
    """Connect to one server, import the certificate it serves and add its deployment.

    The user names this one server, so the discovery scope does not apply (as with
    ``certmgr check``); scans never leave the scope.

    Raises:
        ValidationError: A bad port or STARTTLS protocol, or nothing importable served.
        ProbeError: The server cannot be reached or TLS fails (the message says which).
    """
    if starttls is not None and starttls not in STARTTLS_PROTOCOLS:
        raise ValidationError(
            f"STARTTLS protocol must be one of {', '.join(STARTTLS_PROTOCOLS)}", field="starttls"
        )
    if not 0 < port < 65536:
        raise ValidationError("the port must be 1-65535", field="port")
    result = await probe_or_raise(host, port, sni=sni, starttls=starttls, timeout=timeout)
    return await import_chain(
        db,
        vault,
        actor,
        clock,
        result.chain,
        host=host,
        port=port,
        sni=result.sni,
        starttls=starttls,
        note=f" (import from server by {actor.name})",
    )
