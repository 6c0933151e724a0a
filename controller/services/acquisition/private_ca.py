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
from collections.abc import Sequence
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
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import (
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
    issued_by,
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
    _write_ca_cert(ctx, cert, chain.chain)
    await generate_crl(db, vault, actor, ctx, clock=clock)
    return ca


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


async def _supersede_active(s: AsyncSession) -> None:
    # the old CA stops issuing but keeps revoking and publishing until an admin retires it
    for row in (
        await s.execute(select(CertificateAuthority).where(CertificateAuthority.status == "active"))
    ).scalars():
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
        used = (await s.execute(select(CertificateAuthority.subject))).scalars().all()
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
        made = await asyncio.to_thread(
            _make_all, vault, ctx.crl_url_for(ca.id), ca_key, ca_cert, defs, requests, now
        )
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
    crl_url: str,
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
            crl_url=crl_url,
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
    """Revoke a certificate (by SHA-256 or serial), then write its CA's new CRL.

    The active CA and superseded ones (set up before it, not yet retired) can revoke what they
    issued; the issuer is found by name and proven by the certificate's signature.

    Raises:
        NotFoundError: No such certificate from a CA of this home that still publishes.
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
        candidates = (
            (
                await s.execute(
                    select(Certificate).where(
                        (Certificate.sha256 == token)
                        | Certificate.serial_hex.in_([token, token.lstrip("0") or "0"])
                    )
                )
            )
            .scalars()
            .all()
        )
        found = await _issuing_ca(s, candidates)
        if found is None:
            raise NotFoundError(
                f"no certificate {ref!r} issued by a CA of this home that still publishes "
                "(the active CA or a superseded one that is not retired)"
            )
        ca, row = found
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
    await generate_crl(db, vault, actor, ctx, clock=clock, ca_id=rev.ca_id)
    return rev


async def _issuing_ca(
    s: AsyncSession, certs: Sequence[Certificate]
) -> tuple[CertificateAuthority, Certificate] | None:
    """The publishing CA that signed one of ``certs`` (a serial may repeat across CAs)."""
    cas = (
        (
            await s.execute(
                select(CertificateAuthority)
                .where(CertificateAuthority.status.in_(PUBLISHING))
                .order_by(CertificateAuthority.id.desc())
            )
        )
        .scalars()
        .all()
    )
    for ca in cas:
        ca_row = await s.get(Certificate, ca.certificate_id) if ca.certificate_id else None
        if ca_row is None:
            continue
        ca_cert = x509.load_der_x509_certificate(ca_row.der)
        for row in certs:
            if row.id == ca_row.id or row.issuer != ca_row.subject:
                continue
            if issued_by(x509.load_der_x509_certificate(row.der), ca_cert):
                return ca, row
    return None


async def generate_crl(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    ctx: CaContext,
    *,
    clock: Clock | None = None,
    ca_id: int | None = None,
) -> x509.CertificateRevocationList:
    """Sign new CRLs (next CRL number) and write them to the CA folder.

    Without ``ca_id`` every CA that still publishes (active and superseded) gets a new CRL;
    with it, only that CA. Each goes to ``crl-<id>.pem``/``.der``; the oldest publishing CA's
    also to ``crl.pem``/``crl.der``, the URL certificates issued before per-CA URLs carry.

    Returns:
        The CRL of CA ``ca_id``, or of the active CA.

    Raises:
        NotFoundError: No active CA (without ``ca_id``), or CA ``ca_id`` does not publish.
    """
    now = _now(clock)
    made: dict[int, x509.CertificateRevocationList] = {}
    async with db.transaction() as s:
        publishing = (
            (
                await s.execute(
                    select(CertificateAuthority)
                    .where(
                        CertificateAuthority.status.in_(PUBLISHING),
                        CertificateAuthority.certificate_id.is_not(None),
                    )
                    .order_by(CertificateAuthority.id)
                )
            )
            .scalars()
            .all()
        )
        if ca_id is None:
            wanted = (await active_ca(s)).id
            todo = list(publishing)
        else:
            wanted = ca_id
            todo = [ca for ca in publishing if ca.id == ca_id]
            if not todo:
                raise NotFoundError(f"CA {ca_id} does not publish a CRL (retired or pending)")
        for ca in todo:
            made[ca.id] = await _sign_crl(s, vault, actor, ca, now)
        oldest = publishing[0].id if publishing else None
    ctx.ca_dir.mkdir(parents=True, exist_ok=True)
    for cid, crl in made.items():
        pem, der = crl.public_bytes(Encoding.PEM), crl.public_bytes(Encoding.DER)
        await asyncio.to_thread(_atomic_write, crl_file(ctx.ca_dir, cid, "pem"), pem)
        await asyncio.to_thread(_atomic_write, crl_file(ctx.ca_dir, cid, "der"), der)
        if cid == oldest:
            await asyncio.to_thread(_atomic_write, ctx.ca_dir / "crl.pem", pem)
            await asyncio.to_thread(_atomic_write, ctx.ca_dir / "crl.der", der)
    return made[wanted]


async def _sign_crl(
    s: AsyncSession, vault: MasterKey, actor: Actor, ca: CertificateAuthority, now: dt.datetime
) -> x509.CertificateRevocationList:
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
    entries = [RevokedEntry(int(r.serial_hex, 16), r.revoked_at, r.reason) for r in revs]
    crl = await asyncio.to_thread(build_crl, key, cert, entries, crl_number=ca.crl_number, now=now)
    audit(s, actor, "ca.crl", "ca", ca.id, {"crl_number": ca.crl_number, "revoked": len(revs)})
    return crl


def ca_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of a CA certificate (what agent tokens pin)."""
    return sha256_fingerprint(cert)
