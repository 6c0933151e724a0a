"""What discovery needs from the repository: anchors, virtual hosts, and how a certificate stands.

The private CA's certificates and revocations feed the trust policy; the repository's names are
tried as virtual hosts on the addresses they resolve to; each served certificate is managed,
known elsewhere, outdated or unknown.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateAuthority,
    CertificateDefinition,
    Deployment,
    Revocation,
)
from certmgr.controller.db.queries.certificates import certificates_by_sha256
from certmgr.controller.services.certificates.store import known_ca_certificates
from certmgr.shared.discovery import Scope, TargetSpec
from certmgr.shared.discovery.policy import TrustPolicy
from certmgr.shared.tlstrust import load_system_roots

_MAX_NAMES = 2000
_RESOLVE_AT_ONCE = 32
_RESOLVE_SECONDS = 2.0


class Match(StrEnum):
    """How a served certificate stands in the repository."""

    MANAGED = "managed"  # current certificate of a definition deployed at this endpoint
    KNOWN_ELSEWHERE = "known-elsewhere"  # in the repository, but no deployment here
    OUTDATED = "outdated"  # an older certificate of a definition: the new one is not here
    UNKNOWN = "unknown"  # not in the repository


MATCHES: tuple[str, ...] = tuple(m.value for m in Match)


@dataclass(frozen=True)
class Judging:
    """What the policy judges against: anchors, revocations, known CA certificates, system roots."""

    policy: TrustPolicy
    anchors: tuple[x509.Certificate, ...]
    revoked: frozenset[tuple[bytes | str, int]]
    known_intermediates: tuple[x509.Certificate, ...]
    system_roots: tuple[x509.Certificate, ...] | None


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def judging_context(db: Database, policy: TrustPolicy) -> Judging:
    """The private CA's certificates as anchors, their revocations, and the repository's CAs."""
    async with db.reader() as s:
        cas = (
            await s.execute(
                select(CertificateAuthority.id, Certificate.der).join(
                    Certificate, Certificate.id == CertificateAuthority.certificate_id
                )
            )
        ).all()
        revocations = (await s.execute(select(Revocation.ca_id, Revocation.serial_hex))).all()
        known = await known_ca_certificates(s)

    def build() -> Judging:
        anchors = {ca_id: x509.load_der_x509_certificate(der) for ca_id, der in cas}
        revoked = frozenset(
            (_spki(anchors[ca_id]), int(serial, 16))
            for ca_id, serial in revocations
            if ca_id in anchors
        )
        roots = load_system_roots() if policy.trust_system_store else None
        return Judging(policy, tuple(anchors.values()), revoked, tuple(known), roots)

    return await asyncio.to_thread(build)


def _in_spec(spec: TargetSpec, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    for item in spec.items:
        first, last = item.first, item.last
        if (
            first is not None
            and last is not None
            and first.version == address.version
            and int(first) <= int(address) <= int(last)
        ):
            return True
    return False


async def _resolve(name: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(_RESOLVE_SECONDS):
            infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return []
    return [str(i[4][0]).split("%", 1)[0] for i in infos]


async def virtual_hosts(
    db: Database, spec: TargetSpec, scope: Scope, *, resolve_names: bool = True
) -> dict[str, list[str]]:
    """Per address of ``spec`` (in scope), the repository's names that live there.

    A deployment checked at an address gives its SNI; a definition's names (common name and
    DNS SANs, no wildcards) are resolved, at most 2,000 of them, and kept where they point into
    the spec, so an address is also probed as each virtual host it serves.
    """
    if not any(item.first is not None for item in spec.items):
        return {}
    async with db.reader() as s:
        deps = (await s.execute(select(Deployment.check_host, Deployment.sni))).all()
        names_rows = (
            await s.execute(
                select(CertificateDefinition.common_name, CertificateDefinition.sans).where(
                    CertificateDefinition.archived.is_(False)
                )
            )
        ).all()
    out: dict[str, list[str]] = {}

    def add(address: str, name: str) -> None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return
        if name and scope.allows_address(ip) and _in_spec(spec, ip):
            names = out.setdefault(str(ip), [])
            if name not in names:
                names.append(name)

    for host, sni in deps:
        add(host, (sni or "").lower())
    if resolve_names:
        wanted: dict[str, None] = {}
        for cn, sans in names_rows:
            for n in (cn, *(sans or ())):
                n = (n or "").lower()
                if n and not n.startswith("*.") and "." in n and not _is_address(n):
                    wanted[n] = None
        names = list(wanted)[:_MAX_NAMES]
        gate = asyncio.Semaphore(_RESOLVE_AT_ONCE)

        async def one(n: str) -> tuple[str, list[str]]:
            async with gate:
                return n, await _resolve(n)

        for name, addresses in await asyncio.gather(*(one(n) for n in names)):
            for a in addresses:
                add(a, name)
    return out


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Place:
    """Where a certificate was served: the names it was reached by, and the port."""

    sha256: str
    port: int
    hosts: tuple[str, ...]  # address, target, SNI (lower case)


@dataclass(frozen=True)
class MatchResult:
    """The match of one served certificate at one place."""

    match: Match
    repository_certificate_id: int | None = None
    definition_id: int | None = None
    deployment_id: int | None = None


async def match_places(db: Database, places: Sequence[Place]) -> list[MatchResult]:
    """How each served certificate stands in the repository (a fixed number of queries).

    * managed: it is the current certificate of a definition with a deployment checked at this
      host and port;
    * outdated: it belongs to a definition whose current certificate is another one;
    * known elsewhere: it is in the repository (current, or with no definition), but no
      deployment of its definition is checked here;
    * unknown: certmgr does not have it.
    """
    if not places:
        return []
    fps = sorted({p.sha256 for p in places})
    hosts = sorted({h for p in places for h in p.hosts})
    ports = sorted({p.port for p in places})
    async with db.reader() as s:
        certs = await certificates_by_sha256(s, fps)
        def_ids = sorted({c.definition_id for c in certs.values() if c.definition_id})
        current: dict[int, int | None] = {}
        if def_ids:
            for did, cur in await s.execute(
                select(
                    CertificateDefinition.id, CertificateDefinition.current_certificate_id
                ).where(CertificateDefinition.id.in_(def_ids))
            ):
                current[did] = cur
        deps: list[tuple[int, int, str, int]] = []
        if def_ids:
            deps = [
                (dep_id, did, host, port)
                for dep_id, did, host, port in await s.execute(
                    select(
                        Deployment.id,
                        Deployment.definition_id,
                        func.lower(Deployment.check_host),
                        Deployment.check_port,
                    ).where(
                        Deployment.definition_id.in_(def_ids),
                        Deployment.check_port.in_(ports),
                        func.lower(Deployment.check_host).in_(hosts),
                    )
                )
            ]
    here: dict[tuple[int | None, str, int], int] = {
        (did, h, port): dep for dep, did, h, port in deps
    }
    out: list[MatchResult] = []
    for p in places:
        cert = certs.get(p.sha256)
        if cert is None:
            out.append(MatchResult(Match.UNKNOWN))
            continue
        owner = cert.definition_id
        dep = next((here[(owner, h, p.port)] for h in p.hosts if (owner, h, p.port) in here), None)
        if owner is None:
            out.append(MatchResult(Match.KNOWN_ELSEWHERE, cert.id))
        elif current.get(owner) != cert.id:
            out.append(MatchResult(Match.OUTDATED, cert.id, owner, dep))
        elif dep is not None:
            out.append(MatchResult(Match.MANAGED, cert.id, owner, dep))
        else:
            out.append(MatchResult(Match.KNOWN_ELSEWHERE, cert.id, owner))
    return out


def place_hosts(*names: str | None) -> tuple[str, ...]:
    """The lower-case names an endpoint was reached by (address, target, SNI), each once."""
    return tuple(dict.fromkeys(n.lower() for n in names if n))
