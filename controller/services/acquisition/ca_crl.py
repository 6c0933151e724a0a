"""Revocation and CRLs of the private CAs (CRLs signed off the loop, outside transactions)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, CertificateAuthority, Revocation
from certmgr.controller.db.queries.authorities import (
    PUBLISHING,
    active_ca,
    cas_with_status,
    certificates_by_sha256_or_serial,
    publishing_cas,
    revocation_of,
    revocations_of,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.issuers.private_ca import REASONS, RevokedEntry, build_crl
from certmgr.controller.services.acquisition.ca_context import (
    CaContext,
    atomic_write,
    ca_material,
    crl_file,
    now_of,
)
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, NotFoundError, ValidationError
from certmgr.shared.pki import PrivateKey, issued_by


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
    now = now_of(clock)
    async with db.transaction() as s:
        found = await _issuing_ca(s, await certificates_by_sha256_or_serial(s, token))
        if found is None:
            raise NotFoundError(
                f"no certificate {ref!r} issued by a CA of this home that still publishes "
                "(the active CA or a superseded one that is not retired)"
            )
        ca, row = found
        dup = await revocation_of(s, ca.id, row.serial_hex)
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
    for ca in await cas_with_status(s, PUBLISHING):
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


@dataclass(frozen=True)
class _CrlInput:
    """What signing one CA's next CRL needs (read and numbered in the transaction)."""

    ca_id: int
    key: PrivateKey
    cert: x509.Certificate
    entries: list[RevokedEntry]
    crl_number: int


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
    also to ``crl.pem``/``crl.der``, the URL certificates issued before per-CA URLs carry. The
    CRL numbers are taken in a transaction; signing and writing happen after it, in a worker
    thread.

    Returns:
        The CRL of CA ``ca_id``, or of the active CA.

    Raises:
        NotFoundError: No active CA (without ``ca_id``), or CA ``ca_id`` does not publish.
    """
    now = now_of(clock)
    async with db.transaction() as s:
        publishing = list(await publishing_cas(s))
        if ca_id is None:
            wanted = (await active_ca(s)).id
            todo = publishing
        else:
            wanted = ca_id
            todo = [ca for ca in publishing if ca.id == ca_id]
            if not todo:
                raise NotFoundError(f"CA {ca_id} does not publish a CRL (retired or pending)")
        inputs = [await _next_crl(s, vault, actor, ca) for ca in todo]
        oldest = publishing[0].id if publishing else None
    made: dict[int, x509.CertificateRevocationList] = {}
    for i in inputs:
        made[i.ca_id] = await asyncio.to_thread(
            build_crl, i.key, i.cert, i.entries, crl_number=i.crl_number, now=now
        )
    await asyncio.to_thread(_write_crls, ctx, made, oldest)
    return made[wanted]


async def _next_crl(
    s: AsyncSession, vault: MasterKey, actor: Actor, ca: CertificateAuthority
) -> _CrlInput:
    key, cert, _ = await ca_material(s, vault, ca)
    revs = await revocations_of(s, ca.id)
    ca.crl_number += 1
    entries = [RevokedEntry(int(r.serial_hex, 16), r.revoked_at, r.reason) for r in revs]
    audit(s, actor, "ca.crl", "ca", ca.id, {"crl_number": ca.crl_number, "revoked": len(revs)})
    return _CrlInput(ca.id, key, cert, entries, ca.crl_number)


def _write_crls(
    ctx: CaContext, made: dict[int, x509.CertificateRevocationList], oldest: int | None
) -> None:
    ctx.ca_dir.mkdir(parents=True, exist_ok=True)
    for cid, crl in made.items():
        pem, der = crl.public_bytes(Encoding.PEM), crl.public_bytes(Encoding.DER)
        atomic_write(crl_file(ctx.ca_dir, cid, "pem"), pem)
        atomic_write(crl_file(ctx.ca_dir, cid, "der"), der)
        if cid == oldest:
            atomic_write(ctx.ca_dir / "crl.pem", pem)
            atomic_write(ctx.ca_dir / "crl.der", der)
