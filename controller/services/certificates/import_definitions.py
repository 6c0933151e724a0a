"""Which definition an imported certificate belongs to (an existing one or a new one), and which becomes current."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from certmgr.controller.db.models import Certificate, CertificateDefinition
from certmgr.controller.db.queries._bulk import table_insert, table_of
from certmgr.controller.db.queries.authorities import ca_subjects
from certmgr.controller.db.queries.certificates import not_after_by_id
from certmgr.controller.db.queries.definitions import (
    definition_by_name,
    definition_ids_by_name,
    live_definitions_by_common_name,
    names_taken,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import IssuerKind
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.import_parse import (
    ParsedLeaf,
    base_name,
    free_name,
    leaf_definition_sans,
)
from certmgr.shared.pki import key_type_of, key_type_of_info, summarize


async def matching_definitions(
    s: AsyncSession, leaves: list[ParsedLeaf], name: str | None
) -> dict[str, CertificateDefinition]:
    """Existing definitions a new certificate belongs to: by ``--name``, else same CN and same SANs."""
    out: dict[str, CertificateDefinition] = {}
    if not leaves:
        return out
    if name is not None:
        d = await definition_by_name(s, name.strip())
        if d is not None:
            out[leaves[0].sha256] = d
        return out
    wanted: dict[str, list[tuple[ParsedLeaf, list[str]]]] = {}
    for lf in leaves:
        sm = lf.summary or summarize(lf.cert)
        if sm.common_name:
            wanted.setdefault(sm.common_name[:64], []).append(
                (lf, sorted(leaf_definition_sans(lf)))
            )
    for d in await live_definitions_by_common_name(s, list(wanted)):
        for lf, sans in wanted.get(d.common_name, []):
            if sorted(d.sans) == sans and lf.sha256 not in out:
                out[lf.sha256] = d
    return out


async def new_definitions(
    s: AsyncSession, leaves: list[ParsedLeaf], name: str | None, now: dt.datetime
) -> dict[str, tuple[int, str]]:
    """One new definition per leaf that matches none (named after its CN, made unique)."""
    if not leaves:
        return {}
    ours = await ca_subjects(s)
    taken = await names_taken(s, [base_name(lf) for lf in leaves])
    new_defs: list[tuple[ParsedLeaf, dict[str, Any]]] = []
    for leaf in leaves:
        sm = leaf.summary or summarize(leaf.cert)
        new = name.strip() if name else free_name(base_name(leaf), taken)
        taken.add(new)
        values = {
            "name": new,
            "common_name": (sm.common_name or "")[:64],
            "sans": leaf_definition_sans(leaf),
            "key_type": key_type_of_info(sm.key)
            if sm.key.algorithm in ("RSA", "EC", "Ed25519", "Ed448")
            else key_type_of(leaf.cert.public_key()),  # type: ignore[arg-type]
            "issuer_kind": IssuerKind.PRIVATE_CA.value
            if sm.issuer in ours
            else IssuerKind.VENDOR.value,
            "requirements": {},
            "renewal_policy": {},
            "notes": f"Imported from {leaf.source}"[:1000],
            "created_at": now,
            "updated_at": now,
        }
        new_defs.append((leaf, values))
    # Plain executemany plus a lookup by the unique name: RETURNING in parameter order would
    # cost one statement per row on SQLite.
    await s.execute(table_insert(CertificateDefinition), [v for _, v in new_defs])
    ids_by_name = await definition_ids_by_name(s, [v["name"] for _, v in new_defs])
    return {leaf.sha256: (ids_by_name[v["name"]], v["name"]) for leaf, v in new_defs}


async def make_newest_current(
    s: AsyncSession,
    now: dt.datetime,
    accept_unverified: bool,
    matched: list[CertificateDefinition],
    cert_values: list[dict[str, Any]],
    cert_ids: list[int],
) -> set[int]:
    """The newest certificate of each definition becomes current (unless an existing current one lasts longer)."""
    with_current = [d for d in matched if d.current_certificate_id is not None]
    current_after = await not_after_by_id(
        s, [d.current_certificate_id for d in with_current if d.current_certificate_id]
    )
    best: dict[int, tuple[dt.datetime, int]] = {
        d.id: (current_after[d.current_certificate_id], d.current_certificate_id)
        for d in with_current
        if d.current_certificate_id in current_after
    }
    for values, cert_id in zip(cert_values, cert_ids, strict=True):
        def_id = values["definition_id"]
        if values["signature_problem"] and not accept_unverified:
            continue  # a corrupted or forged certificate is never made current by itself
        if def_id not in best or values["not_after"] > best[def_id][0]:
            best[def_id] = (values["not_after"], cert_id)
    new_ids = set(cert_ids)
    updates = [
        {"def_id": def_id, "cert_id": cert_id, "at": now}
        for def_id, (_, cert_id) in best.items()
        if cert_id in new_ids
    ]
    if updates:
        # Core executemany on the table (the ORM's bulk UPDATE by primary key costs more than
        # the statement); the session's loaded definitions are given the new values, as the
        # ORM's update would have done, so later steps of this import see them
        t = table_of(CertificateDefinition)
        await s.execute(
            update(t)
            .where(t.c.id == bindparam("def_id"))
            .values(current_certificate_id=bindparam("cert_id"), updated_at=bindparam("at")),
            updates,
        )
        for d in matched:
            if d.id in best and best[d.id][1] in new_ids:
                set_committed_value(d, "current_certificate_id", best[d.id][1])
                set_committed_value(d, "updated_at", now)
    return {cert_id for _, cert_id in best.values()}


async def make_current_if_newer(
    s: AsyncSession, actor: Actor, d: CertificateDefinition, row: Certificate, now: dt.datetime
) -> bool:
    """Make an already stored, flagged certificate current (unverified signatures accepted)."""
    if d.current_certificate_id is not None:
        cur = await s.get(Certificate, d.current_certificate_id)
        if cur is not None and cur.not_after >= row.not_after:
            return False
    d.current_certificate_id = row.id
    d.updated_at = now
    audit(
        s,
        actor,
        "certificate.make-current",
        "certificate",
        row.id,
        {"sha256": row.sha256, "definition": d.name, "accept_unverified": True},
    )
    return True
