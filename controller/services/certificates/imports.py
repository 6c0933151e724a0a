"""Import of certificates, chains and keys from files of any supported format.

One call is one transaction: every file is parsed and checked first, then everything is saved
together, or nothing is. Parsing and chain building run in a worker thread before the
transaction; the transaction only writes (a few bulk statements).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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
from certmgr.controller.db.queries.certificates import (
    certificate_ids_by_sha256,
    certificates_by_sha256,
    chain_length,
)
from certmgr.controller.db.queries.keys import keys_by_public_sha256
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import CertificateSource, KeyOrigin
from certmgr.controller.services._events import CERTIFICATES_CHANGED, CertificatesChanged
from certmgr.controller.services._gcpause import gc_paused
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.import_definitions import (
    make_current_if_newer,
    make_newest_current,
    matching_definitions,
    new_definitions,
)
from certmgr.controller.services.certificates.import_parse import (
    ChainPlan,
    ImportFile,
    ImportOptions,
    ParsedImport,
    ParsedLeaf,
    leaf_warnings,
    odd_names,
    parse_inputs,
    plan_chains,
    preview_warnings,
    signature_problem,
    signature_warning,
)
from certmgr.controller.services.certificates.store import (
    certificate_row,
    certificate_values,
    key_row,
    known_ca_certificates,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import describe_key, sha256_fingerprint, summarize

__all__ = [
    "ImportFile",
    "ImportOptions",
    "ImportResult",
    "import_files",
    "odd_names",
    "parse_inputs",
    "preview_warnings",
    "signature_problem",
]

_NO_OPTIONS = ImportOptions()


@dataclass(frozen=True)
class ImportResult:
    """What happened to one certificate."""

    sha256: str
    created: bool
    certificate_id: int
    definition_id: int | None
    definition_name: str | None
    has_private_key: bool
    chain_length: int
    chain_complete: bool
    is_ca: bool
    subject: str
    not_after: dt.datetime
    source_file: str
    made_current: bool
    warnings: tuple[str, ...] = ()
    signature_verified: bool = True
    odd_names: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "sha256": self.sha256,
            "created": self.created,
            "certificate_id": self.certificate_id,
            "definition_id": self.definition_id,
            "definition_name": self.definition_name,
            "has_private_key": self.has_private_key,
            "chain_length": self.chain_length,
            "chain_complete": self.chain_complete,
            "is_ca": self.is_ca,
            "subject": self.subject,
            "not_after": self.not_after.isoformat(),
            "source_file": self.source_file,
            "made_current": self.made_current,
            "signature_verified": self.signature_verified,
            "odd_names": list(self.odd_names),
            "warnings": list(self.warnings),
        }


async def import_files(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    files: Sequence[ImportFile],
    *,
    key_files: Sequence[ImportFile] = (),
    chain_files: Sequence[ImportFile] = (),
    options: ImportOptions = _NO_OPTIONS,
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ImportResult]:
    """Import certificates (with chains and keys) in one transaction.

    Raises:
        InputError: Any file is bad; nothing is saved then.
        ValidationError: ``--name`` with more than one certificate.
    """
    with gc_paused():  # every parsed certificate lives until the commit: see _gcpause
        return await _import(
            db, vault, actor, files, key_files, chain_files, options, clock, progress
        )


async def _import(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    files: Sequence[ImportFile],
    key_files: Sequence[ImportFile],
    chain_files: Sequence[ImportFile],
    options: ImportOptions,
    clock: Clock | None,
    progress: Callable[[int], None] | None,
) -> list[ImportResult]:
    parsed = await asyncio.to_thread(
        parse_inputs,
        files,
        key_files=key_files,
        chain_files=chain_files,
        options=options,
        progress=progress,
    )
    if options.name is not None:
        if len(parsed.leaves) != 1:
            raise ValidationError(
                "a definition name applies to one certificate, but the files hold "
                f"{len(parsed.leaves)}: leave the name empty, or import them one by one",
                field="name",
            )
        if not options.name.strip() or len(options.name) > 200:
            raise ValidationError("name must be 1-200 characters", field="name")
    now = (clock or SystemClock()).now()
    async with db.reader() as s:
        known = await known_ca_certificates(s)
    plan = await asyncio.to_thread(plan_chains, parsed, known)
    async with db.transaction() as s:
        results = await _save(s, vault, actor, parsed, plan, options, now)
    # judged at once (findings, alerts), not at the next scheduled run
    changed = tuple(sorted({r.definition_id for r in results if r.definition_id is not None}))
    await CERTIFICATES_CHANGED.publish(
        db, CertificatesChanged(changed, actor), clock or SystemClock()
    )
    return results


@dataclass
class _Save:
    """One import's transaction and what its steps share."""

    s: AsyncSession
    actor: Actor
    options: ImportOptions
    now: dt.datetime
    existing: dict[str, Certificate]
    key_rows: dict[str, PrivateKeyRecord]

    def key_id(self, leaf: ParsedLeaf) -> int | None:
        """The stored key record of a leaf's key."""
        if leaf.key is None:
            return None
        return self.key_rows[describe_key(leaf.key).public_sha256].id


async def _save(
    s: AsyncSession,
    vault: MasterKey,
    actor: Actor,
    parsed: ParsedImport,
    plan: ChainPlan,
    options: ImportOptions,
    now: dt.datetime,
) -> list[ImportResult]:
    existing = await certificates_by_sha256(
        s, [lf.sha256 for lf in parsed.leaves] + list(plan.needed)
    )
    job = _Save(s, actor, options, now, existing, {})
    ca_rows, ca_results = await _save_cas(job, parsed, plan)
    job.key_rows = await _save_keys(s, vault, parsed.leaves, now)
    new_leaves = [lf for lf in parsed.leaves if lf.sha256 not in existing]
    results = await _save_new_leaves(job, new_leaves, ca_rows)
    results += await _known_leaves(job, [lf for lf in parsed.leaves if lf.sha256 in existing])
    await s.flush()
    return results + ca_results


async def _save_cas(
    job: _Save, parsed: ParsedImport, plan: ChainPlan
) -> tuple[dict[str, Certificate], list[ImportResult]]:
    """Store the CA certificates not yet known; report the ones given on their own."""
    s, existing = job.s, job.existing
    new_rows: dict[str, Certificate] = {}
    for fp, (c, _src) in plan.needed.items():
        if fp in existing:
            continue
        row = certificate_row(c, source=CertificateSource.IMPORTED, now=job.now)
        row.signature_problem = plan.ca_problems.get(fp)
        s.add(row)
        new_rows[fp] = row
    await s.flush()
    results: list[ImportResult] = []
    for fp, row in new_rows.items():
        if fp not in parsed.cas:
            continue
        src = plan.needed[fp][1]
        detail = {"sha256": fp, "ca": True, "file": src}
        audit(s, job.actor, "certificate.import", "certificate", row.id, detail)
        problem = row.signature_problem
        results.append(
            _result(
                row,
                created=True,
                has_key=False,
                complete=row.self_signed,
                src=src,
                warnings=(problem,) if problem else (),
                signature_verified=problem is None,
            )
        )
    for fp in parsed.cas:
        if fp in existing:
            row = existing[fp]
            has_key = row.private_key_id is not None
            src = parsed.cas[fp][1]
            results.append(
                _result(row, created=False, has_key=has_key, complete=row.self_signed, src=src)
            )
    ca_rows = {**{fp: r for fp, r in existing.items() if fp in plan.needed}, **new_rows}
    return ca_rows, results


async def _save_keys(
    s: AsyncSession, vault: MasterKey, leaves: Sequence[ParsedLeaf], now: dt.datetime
) -> dict[str, PrivateKeyRecord]:
    """Store the leaves' keys (or seal a key the repository knew only by its public half)."""
    keys = {describe_key(lf.key).public_sha256: lf.key for lf in leaves if lf.key is not None}
    rows = await keys_by_public_sha256(s, list(keys))
    for fp, key in keys.items():
        if fp not in rows:
            rows[fp] = key_row(key, vault, origin=KeyOrigin.IMPORTED, now=now)
            s.add(rows[fp])
        elif rows[fp].sealed_pkcs8 is None:
            rows[fp].sealed_pkcs8 = key_row(
                key, vault, origin=KeyOrigin.IMPORTED, now=now
            ).sealed_pkcs8
    await s.flush()
    return rows


async def _save_new_leaves(
    job: _Save, leaves: list[ParsedLeaf], ca_rows: dict[str, Certificate]
) -> list[ImportResult]:
    """Definitions, certificates, chain links and audit events of new leaves: a few bulk statements."""
    s = job.s
    matched = await matching_definitions(s, leaves, job.options.name)
    leaf_def = {fp: (d.id, d.name) for fp, d in matched.items()}
    unmatched = [lf for lf in leaves if lf.sha256 not in matched]
    leaf_def.update(await new_definitions(s, unmatched, job.options.name, job.now))
    cert_values = []
    for leaf in leaves:
        values = certificate_values(
            leaf.cert, source=CertificateSource.IMPORTED, now=job.now, summary=leaf.summary
        )
        values["definition_id"] = leaf_def[leaf.sha256][0]
        values["private_key_id"] = job.key_id(leaf)
        values["signature_problem"] = leaf.signature_problem
        cert_values.append(values)
    cert_ids: list[int] = []
    if cert_values:
        # Core executemany on the table: the ORM bulk path adds nothing for plain rows
        await s.execute(table_insert(Certificate), cert_values)
        ids_by_sha = await certificate_ids_by_sha256(s, [v["sha256"] for v in cert_values])
        cert_ids = [ids_by_sha[v["sha256"]] for v in cert_values]
    new_current = await make_newest_current(
        s, job.now, job.options.accept_unverified, list(matched.values()), cert_values, cert_ids
    )
    ca_ids: dict[int, int] = {}
    links = []
    for leaf, cert_id in zip(leaves, cert_ids, strict=True):
        for pos, c in enumerate(leaf.chain):
            if id(c) not in ca_ids:  # a shared chain is one set of objects: fingerprinted once
                ca_ids[id(c)] = ca_rows[sha256_fingerprint(c)].id
            links.append(
                {"certificate_id": cert_id, "position": pos, "ca_certificate_id": ca_ids[id(c)]}
            )
    if links:
        await s.execute(table_insert(ChainLink), links)
    return await _report_new_leaves(job, leaves, cert_values, cert_ids, leaf_def, new_current)


async def _report_new_leaves(
    job: _Save,
    leaves: list[ParsedLeaf],
    cert_values: list[dict[str, Any]],
    cert_ids: list[int],
    leaf_def: dict[str, tuple[int, str]],
    new_current: set[int],
) -> list[ImportResult]:
    """Audit events (one bulk insert) and results of the new leaves."""
    actor, options = job.actor, job.options
    events = []
    results = []
    for leaf, values, cert_id in zip(leaves, cert_values, cert_ids, strict=True):
        def_id, def_name = leaf_def[leaf.sha256]
        made_current = cert_id in new_current
        detail = {
            "sha256": values["sha256"],
            "definition": def_name,
            "file": leaf.source,
            "key": leaf.key is not None,
            "current": made_current,
            "signature_verified": leaf.signature_problem is None,
            "accept_unverified": options.accept_unverified,
        }
        events.append(
            {
                "at": job.now,
                "actor": actor.name,
                "source": actor.source,
                "action": "certificate.import",
                "entity_type": "certificate",
                "entity_id": str(cert_id),
                "detail": detail,
            }
        )
        warnings = leaf_warnings(
            leaf, job.now, made_current=made_current, accepted=options.accept_unverified
        )
        results.append(
            ImportResult(
                sha256=values["sha256"],
                created=True,
                certificate_id=cert_id,
                definition_id=def_id,
                definition_name=def_name,
                has_private_key=leaf.key is not None,
                chain_length=len(leaf.chain),
                chain_complete=leaf.complete,
                is_ca=values["is_ca"],
                subject=values["subject"],
                not_after=values["not_after"],
                source_file=leaf.source,
                made_current=made_current,
                warnings=warnings,
                signature_verified=leaf.signature_problem is None,
                odd_names=odd_names(leaf.summary or summarize(leaf.cert)),
            )
        )
    if events:
        await job.s.execute(table_insert(AuditEvent), events)
    return results


async def _known_leaves(job: _Save, leaves: list[ParsedLeaf]) -> list[ImportResult]:
    """Already known leaves: report them, and attach a newly supplied key."""
    s, actor, options = job.s, job.actor, job.options
    results = []
    for leaf in leaves:
        row = job.existing[leaf.sha256]
        if leaf.key is not None and row.private_key_id is None:
            row.private_key_id = job.key_id(leaf)
            audit(s, actor, "certificate.attach-key", "certificate", row.id, {"sha256": row.sha256})
        d = await s.get(CertificateDefinition, row.definition_id) if row.definition_id else None
        chain_len = await chain_length(s, row.id)
        current = bool(d and d.current_certificate_id == row.id)
        if options.accept_unverified and row.signature_problem and d and not current:
            current = await make_current_if_newer(s, actor, d, row, job.now)
        warnings: tuple[str, ...] = ()
        if row.signature_problem:
            warnings = (
                signature_warning(
                    row.signature_problem,
                    made_current=current,
                    accepted=options.accept_unverified,
                ),
            )
        results.append(
            _result(
                row,
                created=False,
                d=d,
                has_key=row.private_key_id is not None,
                chain_length=chain_len,
                complete=leaf.complete,
                src=leaf.source,
                current=current,
                warnings=warnings,
                signature_verified=row.signature_problem is None,
            )
        )
    return results


def _result(
    row: Certificate,
    *,
    created: bool,
    has_key: bool,
    complete: bool,
    src: str,
    d: CertificateDefinition | None = None,
    chain_length: int = 0,
    current: bool = False,
    warnings: tuple[str, ...] = (),
    signature_verified: bool = True,
) -> ImportResult:
    return ImportResult(
        sha256=row.sha256,
        created=created,
        certificate_id=row.id,
        definition_id=d.id if d else None,
        definition_name=d.name if d else None,
        has_private_key=has_key,
        chain_length=chain_length,
        chain_complete=complete,
        is_ca=row.is_ca,
        subject=row.subject,
        not_after=row.not_after,
        source_file=src,
        made_current=current,
        warnings=warnings,
        signature_verified=signature_verified,
    )
