"""What monitoring checks: the endpoints, the certificate each should serve, and one guarded check.

A deployment is judged against its definition's current certificate. When it still carries the
certificate it was given before a renewal (it is waiting for the new one), serving that one is
recorded as such (``serves_assigned``) and judged on its own merits: a renewal alone does not turn
every deployment into a mismatch; the Deployment Processes screen lists it as waiting instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, CertificateDefinition, ChainLink, Deployment
from certmgr.shared.clock import Clock
from certmgr.shared.deploycheck import CheckOutcome, evaluate, failed_outcome
from certmgr.shared.errors import ValidationError
from certmgr.shared.tlsprobe import probe

_CHUNK = 500


@dataclass(frozen=True)
class Expected:
    """A certificate a deployment may serve, with the chain the repository holds for it."""

    sha256: str
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class Target:
    """One endpoint to check and what it should serve."""

    deployment_id: int
    host: str
    port: int
    sni: str | None
    starttls: str | None
    current: Expected
    assigned: Expected | None = None  # the older certificate it was given, when not the current


@dataclass(frozen=True)
class Checked:
    """A finished check: the verdict against the current certificate, plus monitoring's notes."""

    deployment_id: int
    outcome: CheckOutcome
    extra: dict[str, Any]

    @property
    def healthy(self) -> bool:
        """Passes against the current certificate, or serves its assigned one correctly."""
        return self.outcome.ok or bool(self.extra.get("assigned_ok"))


async def _certificates(db: Database, cert_ids: set[int]) -> dict[int, Expected]:
    """SHA-256 and parsed chain of each certificate (four queries per 500, CA certs parsed once)."""
    sha: dict[int, str] = {}
    links: dict[int, list[tuple[int, int]]] = {}
    ca_der: dict[int, bytes] = {}
    ids = sorted(cert_ids)
    async with db.reader() as s:
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            for cid, digest in await s.execute(
                select(Certificate.id, Certificate.sha256).where(Certificate.id.in_(chunk))
            ):
                sha[cid] = digest
            for cid, pos, ca_id in await s.execute(
                select(
                    ChainLink.certificate_id, ChainLink.position, ChainLink.ca_certificate_id
                ).where(ChainLink.certificate_id.in_(chunk))
            ):
                links.setdefault(cid, []).append((pos, ca_id))
        ca_ids = sorted({ca for pairs in links.values() for _, ca in pairs})
        for i in range(0, len(ca_ids), _CHUNK):
            for ca_id, der in await s.execute(
                select(Certificate.id, Certificate.der).where(
                    Certificate.id.in_(ca_ids[i : i + _CHUNK])
                )
            ):
                ca_der[ca_id] = der
    parsed = {ca_id: x509.load_der_x509_certificate(der) for ca_id, der in ca_der.items()}
    return {
        cid: Expected(
            digest,
            tuple(parsed[ca] for _, ca in sorted(links.get(cid, ())) if ca in parsed),
        )
        for cid, digest in sha.items()
    }


async def load_targets(
    db: Database, deployment_ids: Sequence[int] | None = None
) -> tuple[list[Target], int]:
    """Monitored deployments (or exactly ``deployment_ids``) with the certificate each should serve.

    Returns:
        The targets, and how many deployments were left out for lack of a certificate to compare.
    """
    stmt = (
        select(
            Deployment.id,
            Deployment.check_host,
            Deployment.check_port,
            Deployment.sni,
            Deployment.starttls,
            Deployment.certificate_id,
            CertificateDefinition.current_certificate_id,
        )
        .join(CertificateDefinition, CertificateDefinition.id == Deployment.definition_id)
        .order_by(Deployment.id)
    )
    if deployment_ids is None:
        stmt = stmt.where(
            Deployment.monitoring.is_(True), CertificateDefinition.archived.is_(False)
        )
    else:
        stmt = stmt.where(Deployment.id.in_(list(deployment_ids)))
    async with db.reader() as s:
        rows = (await s.execute(stmt)).all()
    certs = await _certificates(db, {c for row in rows for c in row[5:] if c is not None})
    targets: list[Target] = []
    missing = 0
    for dep_id, host, port, sni, starttls, own, cur in rows:
        wanted = cur or own
        current = certs.get(wanted) if wanted is not None else None
        if current is None:
            missing += 1
            continue
        assigned = certs.get(own) if own and cur and own != cur else None
        targets.append(Target(dep_id, host, port, sni or None, starttls or None, current, assigned))
    return targets, missing


async def check_target(
    t: Target, clock: Clock, timeout: float, roots: Sequence[x509.Certificate]
) -> Checked:
    """Probe one endpoint and judge it; never raises for what the server does."""
    where = f"{t.host}:{t.port}"
    try:
        # The probe keeps its own deadline; this outer one only guards against a stuck thread.
        async with asyncio.timeout(timeout * 2 + 5):
            result = await probe(
                t.host, t.port, sni=t.sni, timeout=timeout, starttls=t.starttls, trust_roots=roots
            )
    except TimeoutError:
        return Checked(t.deployment_id, failed_outcome(f"the check of {where} did not finish"), {})
    except ValidationError as err:
        outcome = failed_outcome(f"cannot check {where}: {err}", kind="handshake")
        return Checked(t.deployment_id, outcome, {})
    now = clock.now()
    try:
        outcome = evaluate(result, t.current.sha256, t.current.chain, now=now)
        extra: dict[str, Any] = {}
        if t.assigned is not None and outcome.served_sha256 == t.assigned.sha256:
            old = evaluate(result, t.assigned.sha256, t.assigned.chain, now=now)
            extra = {"serves_assigned": True, "assigned_ok": old.ok}
    except ValidationError as err:
        return Checked(
            t.deployment_id, failed_outcome(f"cannot judge {where}: {err}", reachable=True), {}
        )
    return Checked(t.deployment_id, outcome, extra)
