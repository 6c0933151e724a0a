"""Issuing server certificates from the active private CA (keys made and certificates signed off the loop)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    CertificateDefinition,
    ChainLink,
    PrivateKeyRecord,
)
from certmgr.controller.db.queries._bulk import table_insert
from certmgr.controller.db.queries.authorities import active_ca
from certmgr.controller.db.queries.definitions import definitions_by_refs
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import CertificateSource, KeyOrigin
from certmgr.controller.issuers.private_ca import LeafSpec, issue_leaf
from certmgr.controller.services._events import CERTIFICATES_CHANGED, CertificatesChanged
from certmgr.controller.services.acquisition.ca_context import (
    DEFAULT_LEAF_DAYS,
    CaContext,
    ca_material,
    now_of,
)
from certmgr.controller.services.certificates.store import certificate_values, key_values
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import ConflictError
from certmgr.shared.pki import (
    KeyType,
    PrivateKey,
    PublicKey,
    generate_private_key,
    load_csr,
)
from certmgr.shared.pki.names import build_name, parse_sans


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
    and signing run in a worker thread before the transaction; the rows are then written with a
    few bulk statements.

    Raises:
        NotFoundError: No active CA or no such definition.
        ValidationError: A bad CSR or definition.
        ConflictError: Another CA became active meanwhile (try again).
    """
    now = now_of(clock)
    async with db.reader() as s:
        ca = await active_ca(s)
        ca_key, ca_cert, ca_chain_rows = await ca_material(s, vault, ca)
        defs = await definitions_by_refs(s, [r.definition_ref for r in requests])
    made = await asyncio.to_thread(
        _make_all, vault, ctx.crl_url_for(ca.id), ca_key, ca_cert, defs, requests, now
    )
    async with db.transaction() as s:
        if (await active_ca(s)).id != ca.id:
            raise ConflictError("another CA became active while issuing; issue again")
        defs = await definitions_by_refs(s, [d.id for d in defs])
        out = await _store_issued(s, made, defs, now)
        links = [
            {"certificate_id": r.id, "position": pos, "ca_certificate_id": ca_row.id}
            for r in out
            for pos, ca_row in enumerate(ca_chain_rows)
        ]
        if links:
            await s.execute(table_insert(ChainLink), links)
        for r, d, req in zip(out, defs, requests, strict=True):
            if req.make_current:
                d.current_certificate_id = r.id
                d.updated_at = now
        await s.execute(
            table_insert(AuditEvent),
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
    changed = tuple(
        sorted({d.id for d, req in zip(defs, requests, strict=True) if req.make_current})
    )
    await CERTIFICATES_CHANGED.publish(
        db, CertificatesChanged(changed, actor), clock or SystemClock()
    )
    return out


async def _store_issued(
    s: AsyncSession, made: list[_Made], defs: list[CertificateDefinition], now: dt.datetime
) -> list[Certificate]:
    """Insert the new keys and certificates; the certificate rows in the order of ``made``."""
    # keys generated here, and keys of CSRs that the repository already knows
    new_keys = [m.key_values for m in made if m.key_values is not None]
    if new_keys:
        await s.execute(table_insert(PrivateKeyRecord), new_keys)
    fps = list({m.values["public_key_sha256"] for m in made})
    key_ids: dict[str, int] = {}
    if fps:
        rows = await s.execute(
            select(PrivateKeyRecord.public_sha256, PrivateKeyRecord.id).where(
                PrivateKeyRecord.public_sha256.in_(fps)
            )
        )
        key_ids = {k: int(v) for k, v in rows.all()}
    cert_values = []
    for m, d in zip(made, defs, strict=True):
        values = {**m.values, "definition_id": d.id}
        values["private_key_id"] = key_ids.get(values["public_key_sha256"])
        cert_values.append(values)
    await s.execute(table_insert(Certificate), cert_values)
    shas = [v["sha256"] for v in cert_values]
    by_sha = {
        r.sha256: r
        for r in (await s.execute(select(Certificate).where(Certificate.sha256.in_(shas))))
        .scalars()
        .all()
    }
    return [by_sha[sha] for sha in shas]


@dataclass(frozen=True)
class _Made:
    cert: x509.Certificate
    values: dict[str, Any]  # the certificate row's columns (summarised in the worker thread)
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
        new_key: dict[str, Any] | None = None
        public_key: PublicKey
        if req.csr_pem is not None:
            csr = load_csr(req.csr_pem, name="CSR")
            public_key = csr.public_key()  # type: ignore[assignment]
        else:
            key = generate_private_key(KeyType.parse(d.key_type))
            new_key = key_values(key, vault, origin=KeyOrigin.GENERATED, now=now)
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
        cert = issue_leaf(ca_key, ca_cert, public_key, spec, now=now)
        values = certificate_values(cert, source=CertificateSource.ISSUED, now=now)
        out.append(_Made(cert, values, new_key))
    return out
