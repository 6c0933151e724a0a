"""The built-in private CA as a service: setup, subordinate CSR/import, issue, revoke, CRL."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    CertificateAuthority,
    CertificateDefinition,
    ChainLink,
    PrivateKeyRecord,
    Revocation,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import CertificateSource, KeyOrigin
from certmgr.controller.issuers.private_ca import (
    REASONS,
    LeafSpec,
    RevokedEntry,
    build_ca_csr,
    build_crl,
    build_root,
    issue_leaf,
)
from certmgr.controller.services.audit import audit
from certmgr.controller.services.definitions import find_definition
from certmgr.controller.services.repository import (
    certificate_values,
    chain_of,
    key_row,
    set_chain,
    store_certificate,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import ConflictError, InputError, NotFoundError, ValidationError
from certmgr.shared.pki import (
    KeyType,
    PrivateKey,
    PublicKey,
    build_chain,
    describe_key,
    generate_private_key,
    key_matches_certificate,
    load,
    load_csr,
    private_key_from_pkcs8_der,
    private_key_to_pkcs8_der,
    sha256_fingerprint,
)
from certmgr.shared.pki.names import build_name, parse_dn, parse_sans

CA_KEY_PURPOSE = "ca-key"
DEFAULT_LEAF_DAYS = 200


@dataclass(frozen=True)
class CaContext:
    """Where the CA writes its public files and what URL it puts into certificates."""

    ca_dir: Path
    crl_url: str


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


def _now(clock: Clock | None) -> dt.datetime:
    return (clock or SystemClock()).now()


async def active_ca(s: AsyncSession) -> CertificateAuthority:
    """The CA that issues now.

    Raises:
        NotFoundError: No CA is active (e.g. a subordinate still waits for its certificate).
    """
    row = (
        await s.execute(
            select(CertificateAuthority)
            .where(CertificateAuthority.status == "active")
            .order_by(CertificateAuthority.id.desc())
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(
            "no active private CA: run 'certmgr ca setup' (or finish a subordinate with 'certmgr ca import-cert')"
        )
    return row


async def _ca_material(
    s: AsyncSession, vault: MasterKey, ca: CertificateAuthority
) -> tuple[PrivateKey, x509.Certificate, list[Certificate]]:
    if ca.certificate_id is None:
        raise NotFoundError(f"CA {ca.name!r} has no certificate yet")
    cert_row = await s.get(Certificate, ca.certificate_id)
    assert cert_row is not None  # noqa: S101 - FK guarantees it
    key = private_key_from_pkcs8_der(vault.unseal(ca.sealed_key, CA_KEY_PURPOSE))
    chain = await chain_of(s, cert_row.id)
    return key, x509.load_der_x509_certificate(cert_row.der), [cert_row, *chain]


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
    now = _now(clock)
    key = await asyncio.to_thread(generate_private_key, KeyType.parse(key_type))
    cert = build_root(key, name, now=now, days=days)
    async with db.transaction() as s:
        await _retire_active(s)
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
    _write_ca_cert(ctx, cert)
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
    now = _now(clock)
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
    now = _now(clock)
    async with db.transaction() as s:
        pending = (
            await s.execute(
                select(CertificateAuthority)
                .where(CertificateAuthority.status == "pending")
                .order_by(CertificateAuthority.id.desc())
            )
        ).scalar_one_or_none()
        if pending is None:
            raise NotFoundError(
                "no subordinate CA is waiting for its certificate (run 'certmgr ca setup --subordinate' first)"
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
        await _retire_active(s)
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
    _write_ca_cert(ctx, cert, chain.chain)
    await generate_crl(db, vault, actor, ctx, clock=clock)
    return ca


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


async def _retire_active(s: AsyncSession) -> None:
    for row in (
        await s.execute(select(CertificateAuthority).where(CertificateAuthority.status == "active"))
    ).scalars():
        row.status = "retired"


def _write_ca_cert(
    ctx: CaContext,
    cert: x509.Certificate,
    chain: tuple[x509.Certificate, ...] | list[x509.Certificate] = (),
) -> None:
    ctx.ca_dir.mkdir(parents=True, exist_ok=True)
    pem = cert.public_bytes(Encoding.PEM) + b"".join(c.public_bytes(Encoding.PEM) for c in chain)
    _atomic_write(ctx.ca_dir / "ca.pem", pem)


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)


async def ca_info(db: Database) -> list[CaInfo]:
    """Every CA, the active one first."""
    async with db.reader() as s:
        cas = (
            (await s.execute(select(CertificateAuthority).order_by(CertificateAuthority.id.desc())))
            .scalars()
            .all()
        )
        out: list[CaInfo] = []
        for ca in cas:
            cert = await s.get(Certificate, ca.certificate_id) if ca.certificate_id else None
            issued = 0
            if cert is not None:
                issued = int(
                    (
                        await s.execute(
                            select(func.count(Certificate.id)).where(
                                Certificate.issuer == cert.subject, Certificate.id != cert.id
                            )
                        )
                    ).scalar_one()
                )
            revoked = int(
                (
                    await s.execute(
                        select(func.count(Revocation.id)).where(Revocation.ca_id == ca.id)
                    )
                ).scalar_one()
            )
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
        row = await s.get(Certificate, ca.certificate_id)
        assert row is not None  # noqa: S101
        rows = [row, *(await chain_of(s, row.id) if with_chain else [])]
        return b"".join(
            x509.load_der_x509_certificate(r.der).public_bytes(Encoding.PEM) for r in rows
        )


@dataclass(frozen=True)
class IssueRequest:
    """One certificate to issue for a definition."""

    definition_ref: str | int
    csr_pem: bytes | None = None
    days: int | None = None
    make_current: bool = True


async def issue_for_definitions(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    ctx: CaContext,
    requests: list[IssueRequest],
    *,
    clock: Clock | None = None,
) -> list[Certificate]:
    """Issue server certificates from the active CA, all in one transaction.

    Keys are generated here (sealed with the master key) unless a CSR is given. Key generation
    and signing run in a worker thread; the rows are written with a few bulk statements.

    Raises:
        NotFoundError: No active CA or no such definition.
        ValidationError: A bad CSR or definition.
    """
    now = _now(clock)
    async with db.transaction() as s:
        ca = await active_ca(s)
        ca_key, ca_cert, ca_chain_rows = await _ca_material(s, vault, ca)
        defs = [await _definition(s, r.definition_ref) for r in requests]
        made = await asyncio.to_thread(_make_all, vault, ctx, ca_key, ca_cert, defs, requests, now)
        # keys generated here, and keys of CSRs that the repository already knows
        new_keys = [m.key_values for m in made if m.key_values is not None]
        if new_keys:
            await s.execute(insert(PrivateKeyRecord), new_keys)
        fps = list({m.public_sha256 for m in made})
        key_ids = (
            dict(
                (
                    await s.execute(
                        select(PrivateKeyRecord.public_sha256, PrivateKeyRecord.id).where(
                            PrivateKeyRecord.public_sha256.in_(fps)
                        )
                    )
                ).all()
            )
            if fps
            else {}
        )
        cert_values = []
        for m, d in zip(made, defs, strict=True):
            values = certificate_values(m.cert, source=CertificateSource.ISSUED, now=now)
            values["definition_id"] = d.id
            values["private_key_id"] = key_ids.get(m.public_sha256)
            cert_values.append(values)
        await s.execute(insert(Certificate), cert_values)
        shas = [v["sha256"] for v in cert_values]
        rows = {
            r.sha256: r
            for r in (await s.execute(select(Certificate).where(Certificate.sha256.in_(shas))))
            .scalars()
            .all()
        }
        out = [rows[sha] for sha in shas]
        links = [
            {"certificate_id": r.id, "position": pos, "ca_certificate_id": ca_row.id}
            for r in out
            for pos, ca_row in enumerate(ca_chain_rows)
        ]
        if links:
            await s.execute(insert(ChainLink), links)
        for r, d, req in zip(out, defs, requests, strict=True):
            if req.make_current:
                d.current_certificate_id = r.id
                d.updated_at = now
        await s.execute(
            insert(AuditEvent),
            [
                {
                    "at": now,
                    "actor": actor.name,
                    "source": actor.source,
                    "action": "ca.issue",
                    "entity_type": "certificate",
                    "entity_id": str(r.id),
                    "detail": {"definition": d.name, "sha256": r.sha256, "serial": r.serial_hex},
                }
                for r, d in zip(out, defs, strict=True)
            ],
        )
    return out


async def _definition(s: AsyncSession, ref: str | int) -> CertificateDefinition:
    return await find_definition(s, ref)


@dataclass(frozen=True)
class _Made:
    cert: x509.Certificate
    public_sha256: str
    key_values: dict[str, object] | None


def _make_all(
    vault: MasterKey,
    ctx: CaContext,
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    defs: list[CertificateDefinition],
    requests: list[IssueRequest],
    now: dt.datetime,
) -> list[_Made]:
    out = []
    for d, req in zip(defs, requests, strict=True):
        key_values: dict[str, object] | None = None
        public_key: PublicKey
        if req.csr_pem is not None:
            csr = load_csr(req.csr_pem, name="CSR")
            public_key = csr.public_key()  # type: ignore[assignment]
        else:
            key = generate_private_key(KeyType.parse(d.key_type))
            row = key_row(key, vault, origin=KeyOrigin.GENERATED, now=now)
            key_values = {
                c: getattr(row, c)
                for c in (
                    "algorithm",
                    "size",
                    "key_type",
                    "public_sha256",
                    "origin",
                    "sealed_pkcs8",
                    "created_at",
                )
            }
            public_key = key.public_key()
        spec = LeafSpec(
            subject=build_name(
                d.common_name,
                organization=d.organization,
                organizational_unit=d.organizational_unit,
                locality=d.locality,
                state=d.state,
                country=d.country,
            ),
            sans=parse_sans(list(d.sans) or [d.common_name]),
            days=req.days or int(d.renewal_policy.get("days", DEFAULT_LEAF_DAYS)),
            crl_url=ctx.crl_url,
        )
        out.append(
            _Made(
                issue_leaf(ca_key, ca_cert, public_key, spec, now=now),
                describe_key(public_key).public_sha256,
                key_values,
            )
        )
    return out


async def revoke(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    ctx: CaContext,
    ref: str,
    *,
    reason: str = "unspecified",
    clock: Clock | None = None,
) -> Revocation:
    """Revoke a certificate issued by the active CA (by SHA-256 or serial), then write a new CRL.

    Raises:
        NotFoundError: No such certificate from this CA.
        ValidationError: Unknown reason.
        ConflictError: Already revoked.
    """
    if reason not in REASONS:
        raise ValidationError(
            f"unknown reason {reason!r} (use one of {', '.join(sorted(REASONS))})", field="reason"
        )
    token = ref.strip().lower().replace(":", "")
    now = _now(clock)
    async with db.transaction() as s:
        ca = await active_ca(s)
        ca_cert_row = await s.get(Certificate, ca.certificate_id) if ca.certificate_id else None
        assert ca_cert_row is not None  # noqa: S101
        row = (
            (
                await s.execute(
                    select(Certificate).where(
                        (Certificate.sha256 == token)
                        | Certificate.serial_hex.in_([token, token.lstrip("0") or "0"])
                    )
                )
            )
            .scalars()
            .first()
        )
        if row is None or row.issuer != ca_cert_row.subject or row.id == ca_cert_row.id:
            raise NotFoundError(f"no certificate {ref!r} issued by the active CA")
        dup = (
            await s.execute(
                select(Revocation).where(
                    Revocation.ca_id == ca.id, Revocation.serial_hex == row.serial_hex
                )
            )
        ).scalar_one_or_none()
        if dup is not None:
            raise ConflictError(
                f"certificate {row.serial_hex} was already revoked on {dup.revoked_at:%Y-%m-%d}"
            )
        rev = Revocation(
            ca_id=ca.id,
            serial_hex=row.serial_hex,
            certificate_id=row.id,
            reason=reason,
            revoked_at=now,
            revoked_by=actor.name,
        )
        s.add(rev)
        await s.flush()
        audit(
            s,
            actor,
            "ca.revoke",
            "certificate",
            row.id,
            {"serial": row.serial_hex, "reason": reason},
        )
    await generate_crl(db, vault, actor, ctx, clock=clock)
    return rev


async def generate_crl(
    db: Database, vault: MasterKey, actor: Actor, ctx: CaContext, *, clock: Clock | None = None
) -> x509.CertificateRevocationList:
    """Sign a new CRL with the next CRL number; write ``crl.pem`` and ``crl.der`` to the CA folder.

    Raises:
        NotFoundError: No active CA.
    """
    now = _now(clock)
    async with db.transaction() as s:
        ca = await active_ca(s)
        key, cert, _ = await _ca_material(s, vault, ca)
        revs = (
            (
                await s.execute(
                    select(Revocation).where(Revocation.ca_id == ca.id).order_by(Revocation.id)
                )
            )
            .scalars()
            .all()
        )
        ca.crl_number += 1
        crl = build_crl(
            key,
            cert,
            [RevokedEntry(int(r.serial_hex, 16), r.revoked_at, r.reason) for r in revs],
            crl_number=ca.crl_number,
            now=now,
        )
        audit(s, actor, "ca.crl", "ca", ca.id, {"crl_number": ca.crl_number, "revoked": len(revs)})
    ctx.ca_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(ctx.ca_dir / "crl.pem", crl.public_bytes(Encoding.PEM))
    _atomic_write(ctx.ca_dir / "crl.der", crl.public_bytes(Encoding.DER))
    return crl


def ca_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of a CA certificate (what agent tokens pin)."""
    return sha256_fingerprint(cert)
