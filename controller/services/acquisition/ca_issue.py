"""Issuing server certificates from the active private CA (keys made and certificates signed off the loop)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    ChainLink,
    PrivateKeyRecord,
)
from certmgr.controller.db.queries._bulk import detached_rows, insert_with_ids, table_insert
from certmgr.controller.db.queries.authorities import active_ca
from certmgr.controller.db.queries.definitions import (
    definition_rows_by_refs,
    missing_definition_id,
    set_current_certificates,
)
from certmgr.controller.db.queries.keys import keys_by_public_sha256
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import CertificateSource, KeyOrigin
from certmgr.controller.issuers.private_ca import LeafSigner, LeafSpec
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
from certmgr.shared.errors import ConflictError, NotFoundError
from certmgr.shared.pki import (
    KeyType,
    PrivateKey,
    cert_der,
    describe_key,
    generate_private_key,
    load_csr,
    summary_of_built,
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
    few bulk statements (Core executemany: the ORM would build, flush and read back an object
    per row). The returned rows are detached, with every column set.

    Raises:
        NotFoundError: No active CA or no such definition.
        ValidationError: A bad CSR or definition.
        ConflictError: Another CA became active meanwhile (try again).
    """
    now = now_of(clock)
    async with db.reader() as s:
        ca = await active_ca(s)
        ca_key, ca_cert, ca_chain_rows = await ca_material(s, vault, ca)
        defs = await definition_rows_by_refs(
            s, [r.definition_ref for r in requests], _DEFINITION_COLUMNS
        )
    made = await asyncio.to_thread(
        _make_all, vault, ctx.crl_url_for(ca.id), ca_key, ca_cert, defs, requests, now
    )
    async with db.transaction() as s:
        if (await active_ca(s)).id != ca.id:
            raise ConflictError("another CA became active while issuing; issue again")
        gone = await missing_definition_id(s, [d.id for d in defs])
        if gone is not None:
            raise NotFoundError(f"no certificate definition {gone!r}")
        out = await _store_issued(s, made, defs)
        links = [
            {"certificate_id": r.id, "position": pos, "ca_certificate_id": ca_row.id}
            for r in out
            for pos, ca_row in enumerate(ca_chain_rows)
        ]
        if links:
            await s.execute(table_insert(ChainLink), links)
        await set_current_certificates(
            s,
            [
                (d.id, r.id)
                for r, d, req in zip(out, defs, requests, strict=True)
                if req.make_current
            ],
            now,
        )
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


# what issuing reads of a definition (definition_rows_by_refs adds id and name)
_DEFINITION_COLUMNS = (
    "common_name",
    "organization",
    "organizational_unit",
    "locality",
    "state",
    "country",
    "sans",
    "key_type",
    "renewal_policy",
)


async def _store_issued(
    s: AsyncSession, made: list[_Made], defs: Sequence[Row[Any]]
) -> list[Certificate]:
    """Insert the new keys and certificates; the certificate rows in the order of ``made``."""
    new_keys = [m.key_values for m in made if m.key_values is not None]
    key_ids = dict(
        zip(
            (k["public_sha256"] for k in new_keys),
            await insert_with_ids(s, PrivateKeyRecord, new_keys, "public_sha256"),
            strict=True,
        )
    )
    # a CSR's key is linked when the repository already holds it
    known = list({m.values["public_key_sha256"] for m in made if m.key_values is None})
    if known:
        key_ids |= {fp: row.id for fp, row in (await keys_by_public_sha256(s, known)).items()}
    cert_values = [
        {
            **m.values,
            "definition_id": d.id,
            "private_key_id": key_ids.get(m.values["public_key_sha256"]),
            "signature_problem": None,
        }
        for m, d in zip(made, defs, strict=True)
    ]
    ids = await insert_with_ids(s, Certificate, cert_values, "sha256")
    return detached_rows(
        Certificate, [{**v, "id": i} for v, i in zip(cert_values, ids, strict=True)]
    )


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
    defs: Sequence[Row[Any]],
    requests: list[IssueRequest],
    now: dt.datetime,
) -> list[_Made]:
    issuer = ca_cert.subject
    signer = LeafSigner(ca_key, ca_cert)
    out = []
    for d, req in zip(defs, requests, strict=True):
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
        if req.csr_pem is not None:
            csr = load_csr(req.csr_pem, name="CSR")
            cert = signer.sign(csr.public_key(), spec, now=now)  # type: ignore[arg-type]
            values = certificate_values(cert, source=CertificateSource.ISSUED, now=now)
            out.append(_Made(cert, values, None))
            continue
        key = generate_private_key(KeyType.parse(d.key_type))
        info = describe_key(key)
        new_key = key_values(key, vault, origin=KeyOrigin.GENERATED, now=now, info=info)
        cert = signer.sign(key.public_key(), spec, now=now)
        der = cert_der(cert)
        # what went into the certificate is known: summarised without parsing it back
        summary = summary_of_built(
            cert, subject=spec.subject, issuer=issuer, sans=spec.sans, key=info, ca=False, der=der
        )
        values = certificate_values(
            cert, source=CertificateSource.ISSUED, now=now, summary=summary, der=der
        )
        out.append(_Made(cert, values, new_key))
    return out
