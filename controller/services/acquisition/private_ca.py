"""The built-in private CA as a service: setup, subordinate CSR/import, issue, revoke, CRL.

A CA's life: ``pending`` (a subordinate waiting for its certificate) -> ``active`` (issues) ->
``superseded`` (a newer CA issues; this one still revokes what it issued and publishes its CRL)
-> ``retired`` (by an admin, explicitly: no more revocations or CRLs). Each CA publishes its CRL
at ``/pki/crl/<id>.der`` (the URL its certificates carry); ``/pki/crl.der``, which certificates
issued before per-CA URLs name, serves the oldest CA that still publishes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateAuthority
from certmgr.controller.db.queries.authorities import (
    active_ca,
    all_cas,
    ca_subjects,
    cas_with_status,
    issued_count,
    pending_ca,
    revocation_count,
)
from certmgr.controller.db.queries.certificates import certificate_by_id, chain_rows
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import CertificateSource
from certmgr.controller.issuers.private_ca import build_ca_csr, build_root
from certmgr.controller.services.acquisition.ca_context import (
    CA_KEY_PURPOSE,
    DEFAULT_LEAF_DAYS,
    LEGACY_CRL_PATH,
    PUBLISHING,
    CaContext,
    ca_material,
    crl_file,
    now_of,
    write_ca_cert,
)
from certmgr.controller.services.acquisition.ca_crl import generate_crl, revoke
from certmgr.controller.services.acquisition.ca_issue import IssueRequest, issue_for_definitions
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import set_chain, store_certificate
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, InputError, NotFoundError, ValidationError
from certmgr.shared.pki import (
    KeyType,
    build_chain,
    generate_private_key,
    key_matches_certificate,
    load,
    private_key_from_pkcs8_der,
    private_key_to_pkcs8_der,
    sha256_fingerprint,
)
from certmgr.shared.pki.names import parse_dn

__all__ = [
    "CA_KEY_PURPOSE",
    "DEFAULT_LEAF_DAYS",
    "LEGACY_CRL_PATH",
    "PUBLISHING",
    "CaContext",
    "CaInfo",
    "IssueRequest",
    "active_ca",
    "ca_certificate_pem",
    "ca_fingerprint",
    "ca_info",
    "ca_material",
    "crl_file",
    "generate_crl",
    "import_ca_certificate",
    "issue_for_definitions",
    "retire_ca",
    "revoke",
    "setup_root",
    "setup_subordinate",
    "subject_in_use",
    "unique_ca_subject",
]


@dataclass(frozen=True)
class CaInfo:
    """What ``certmgr ca info`` shows."""

    id: int
    name: str
    kind: str
    status: str
    subject: str
    key_type: str
    sha256: str | None
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    issued: int
    revoked: int
    crl_number: int
    csr_pem: str


async def setup_root(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    ctx: CaContext,
    *,
    subject: str,
    key_type: str = KeyType.EC_P384.value,
    days: int = 3650,
    clock: Clock | None = None,
) -> CertificateAuthority:
    """Create a new root CA and make it the active CA (an older one is retired but kept).

    Raises:
        ValidationError: Bad subject, key type or lifetime.
    """
    actor.require_admin("setting up the CA")
    name = parse_dn(subject)
    if not 1 <= days <= 36500:
        raise ValidationError("CA lifetime must be 1-36500 days", field="days")
    now = now_of(clock)
    key = await asyncio.to_thread(generate_private_key, KeyType.parse(key_type))
    cert = await asyncio.to_thread(build_root, key, name, now=now, days=days)
    async with db.transaction() as s:
        await _supersede_active(s)
        cert_row, _ = await store_certificate(s, cert, source=CertificateSource.ISSUED, now=now)
        ca = CertificateAuthority(
            name=name.rfc4514_string()[:200],
            kind="root",
            status="active",
            subject=name.rfc4514_string(),
            key_type=KeyType.parse(key_type).value,
            sealed_key=vault.seal(private_key_to_pkcs8_der(key), CA_KEY_PURPOSE),
            certificate_id=cert_row.id,
            created_at=now,
        )
        s.add(ca)
        await s.flush()
        audit(
            s,
            actor,
            "ca.setup",
            "ca",
            ca.id,
            {"kind": "root", "subject": ca.subject, "sha256": cert_row.sha256},
        )
    await asyncio.to_thread(write_ca_cert, ctx, cert)
    await generate_crl(db, vault, actor, ctx, clock=clock)
    return ca


async def setup_subordinate(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    *,
    subject: str,
    key_type: str = KeyType.EC_P384.value,
    clock: Clock | None = None,
) -> CertificateAuthority:
    """Make a key and CSR for a subordinate CA; it becomes active after ``import_ca_certificate``.

    Raises:
        ValidationError: Bad subject or key type.
    """
    actor.require_admin("setting up the CA")
    name = parse_dn(subject)
    now = now_of(clock)
    key = await asyncio.to_thread(generate_private_key, KeyType.parse(key_type))
    csr = build_ca_csr(key, name)
    async with db.transaction() as s:
        ca = CertificateAuthority(
            name=name.rfc4514_string()[:200],
            kind="subordinate",
            status="pending",
            subject=name.rfc4514_string(),
            key_type=KeyType.parse(key_type).value,
            sealed_key=vault.seal(private_key_to_pkcs8_der(key), CA_KEY_PURPOSE),
            csr_pem=csr.public_bytes(Encoding.PEM).decode(),
            created_at=now,
        )
        s.add(ca)
        await s.flush()
        audit(s, actor, "ca.subordinate-csr", "ca", ca.id, {"subject": ca.subject})
    return ca


async def import_ca_certificate(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    ctx: CaContext,
    data: bytes,
    *,
    name: str = "certificate",
    chain_data: bytes | None = None,
    clock: Clock | None = None,
) -> CertificateAuthority:
    """Take the signed certificate (and chain) of the pending subordinate CA and activate it.

    Raises:
        NotFoundError: No subordinate CA is waiting.
        KeyMismatchError: The certificate is for another key.
        InputError: Not a CA certificate, or not currently valid.
    """
    actor.require_admin("importing the CA certificate")
    bundle = load(data, name=name)
    extra = list(load(chain_data, name="chain").certificates) if chain_data else []
    now = now_of(clock)
    async with db.transaction() as s:
        pending = await pending_ca(s)
        if pending is None:
            raise NotFoundError(
                "no subordinate CA is waiting for its certificate: make the subordinate CA's signing request first"
            )
        key = private_key_from_pkcs8_der(vault.unseal(pending.sealed_key, CA_KEY_PURPOSE))
        mine = [c for c in bundle.certificates if key_matches_certificate(key, c)]
        if not mine:
            raise InputError(
                f"{name} holds no certificate for the pending CA key ({pending.subject})"
            )
        cert = mine[0]
        bc = _basic_constraints(cert)
        if bc is None or not bc.ca:
            raise InputError(
                f"{name}: the certificate is not a CA certificate (basicConstraints CA:TRUE missing)"
            )
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise InputError(
                f"{name}: the certificate is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})"
            )
        others = [c for c in [*bundle.certificates, *extra] if c is not cert]
        chain = build_chain(cert, others)
        await _supersede_active(s)
        cert_row, _ = await store_certificate(s, cert, source=CertificateSource.RECEIVED, now=now)
        chain_rows = [
            (await store_certificate(s, c, source=CertificateSource.IMPORTED, now=now))[0]
            for c in chain.chain
        ]
        await set_chain(s, cert_row, chain_rows)
        pending.certificate_id = cert_row.id
        pending.status = "active"
        audit(
            s,
            actor,
            "ca.import-cert",
            "ca",
            pending.id,
            {"sha256": cert_row.sha256, "chain_complete": chain.complete},
        )
        ca = pending
    await asyncio.to_thread(write_ca_cert, ctx, cert, chain.chain)
    await generate_crl(db, vault, actor, ctx, clock=clock)
    return ca


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


async def _supersede_active(s: AsyncSession) -> None:
    # the old CA stops issuing but keeps revoking and publishing until an admin retires it
    for row in await cas_with_status(s, ("active",)):
        row.status = "superseded"


async def subject_in_use(db: Database, subject: str) -> bool:
    """True when a CA of this home already has (or had) this distinguished name.

    Relying parties tell CAs apart by name first: two CAs with one name confuse path building
    and CRL checks, so ``ca setup`` warns.

    Raises:
        ValidationError: The subject is not a distinguished name.
    """
    wanted = _dn_key(parse_dn(subject))
    async with db.reader() as s:
        used = await ca_subjects(s)
    return any(_dn_key(parse_dn(u)) == wanted for u in used if u)


def _dn_key(name: x509.Name) -> list[tuple[str, str]]:
    # the same attributes written in another order or case are the same name to a person
    return sorted((a.oid.dotted_string, str(a.value).casefold()) for a in name)


def unique_ca_subject(organization: str, now: dt.datetime) -> str:
    """A CA name no other home repeats: the organisation, and a time stamp in the common name."""
    org = organization.replace(",", " ").replace("+", " ").replace("=", " ").strip() or "certmgr"
    return f"CN={org} Private Root CA {now:%Y%m%d-%H%M%S},O={org}"


async def retire_ca(
    db: Database, actor: Actor, ca_id: int, *, clock: Clock | None = None
) -> CertificateAuthority:
    """Retire a superseded CA for good: it no longer revokes or publishes a CRL.

    Raises:
        PermissionDeniedError: Not an admin.
        NotFoundError: No such CA.
        ConflictError: The CA is the active one (set up another first) or already retired.
    """
    actor.require_admin("retiring a CA")
    async with db.transaction() as s:
        ca = await s.get(CertificateAuthority, ca_id)
        if ca is None:
            raise NotFoundError(f"no CA {ca_id}")
        if ca.status == "active":
            raise ConflictError(
                f"CA {ca_id} is the active CA: set up or import another before retiring it"
            )
        if ca.status == "retired":
            raise ConflictError(f"CA {ca_id} is already retired")
        ca.status = "retired"
        audit(s, actor, "ca.retire", "ca", ca.id, {"subject": ca.subject})
    return ca


async def ca_info(db: Database) -> list[CaInfo]:
    """Every CA, the active one first."""
    async with db.reader() as s:
        out: list[CaInfo] = []
        for ca in await all_cas(s):
            cert = await certificate_by_id(s, ca.certificate_id) if ca.certificate_id else None
            issued = await issued_count(s, cert) if cert is not None else 0
            revoked = await revocation_count(s, ca.id)
            out.append(
                CaInfo(
                    id=ca.id,
                    name=ca.name,
                    kind=ca.kind,
                    status=ca.status,
                    subject=ca.subject,
                    key_type=ca.key_type,
                    sha256=cert.sha256 if cert else None,
                    not_before=cert.not_before if cert else None,
                    not_after=cert.not_after if cert else None,
                    issued=issued,
                    revoked=revoked,
                    crl_number=ca.crl_number,
                    csr_pem=ca.csr_pem if ca.status == "pending" else "",
                )
            )
        out.sort(key=lambda i: (i.status != "active", -i.id))
        return out


async def ca_certificate_pem(db: Database, *, with_chain: bool = True) -> bytes:
    """PEM of the active CA certificate (and its chain for a subordinate).

    Raises:
        NotFoundError: No active CA.
    """
    async with db.reader() as s:
        ca = await active_ca(s)
        assert ca.certificate_id is not None  # noqa: S101 - active implies a certificate
        row = await certificate_by_id(s, ca.certificate_id)
        rows = [row, *(await chain_rows(s, row.id) if with_chain else [])]
        return b"".join(
            x509.load_der_x509_certificate(r.der).public_bytes(Encoding.PEM) for r in rows
        )


def ca_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of a CA certificate (what agent tokens pin)."""
    return sha256_fingerprint(cert)
