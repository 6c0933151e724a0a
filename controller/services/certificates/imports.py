"""Import of certificates, chains and keys from files of any supported format.

One call is one transaction: every file is parsed and checked first, then everything is saved
together, or nothing is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    CertificateAuthority,
    CertificateDefinition,
    ChainLink,
    PrivateKeyRecord,
)
from certmgr.controller.db.queries._like import LIKE_ESCAPE, numbered_copies
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import CertificateSource, IssuerKind, KeyOrigin
from certmgr.controller.services.acquisition.definitions import normalized_sans
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import (
    certificate_row,
    certificate_values,
    key_row,
    known_ca_certificates,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import KeyMismatchError, ValidationError
from certmgr.shared.pki import (
    CertSummary,
    ChainResult,
    PrivateKey,
    build_chain,
    describe_key,
    escape_text,
    find_leaves,
    forged_by,
    is_ca,
    is_dns_name,
    is_self_signed,
    issued_by,
    key_type_of,
    load,
    public_key_sha256,
    sha256_fingerprint,
    summarize,
)

_CHUNK = 500


@dataclass(frozen=True)
class ImportFile:
    """One input: its display name and bytes."""

    name: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ImportOptions:
    """Passwords and naming for an import."""

    password: bytes | None = field(default=None, repr=False)
    key_password: bytes | None = field(default=None, repr=False)
    name: str | None = None
    # A certificate whose signature does not verify with its issuer is stored flagged and, unless
    # this is set, never made current.
    accept_unverified: bool = False


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


@dataclass
class _Leaf:
    cert: x509.Certificate
    sha256: str
    source: str
    key: PrivateKey | None = None
    summary: CertSummary | None = None
    chain: tuple[x509.Certificate, ...] = ()
    complete: bool = False
    missing: str | None = None
    signature_problem: str | None = None


@dataclass
class _Parsed:
    leaves: list[_Leaf]
    cas: dict[str, tuple[x509.Certificate, str]]  # sha256 -> (cert, source file)


def parse_inputs(
    files: Sequence[ImportFile],
    *,
    key_files: Sequence[ImportFile] = (),
    chain_files: Sequence[ImportFile] = (),
    options: ImportOptions = ImportOptions(),
    progress: Callable[[int], None] | None = None,
) -> _Parsed:
    """Parse and pair everything (CPU only, no database).

    Raises:
        InputError: A file is unreadable, encrypted with another passphrase, or a key matches nothing.
    """
    leaves: dict[str, _Leaf] = {}
    cas: dict[str, tuple[x509.Certificate, str]] = {}
    loose_keys: list[tuple[PrivateKey, str]] = []
    if not files:
        raise ValidationError("no files to import", field="files")
    for i, f in enumerate(files):
        bundle = load(
            f.data, password=options.password, key_password=options.key_password, name=f.name
        )
        if bundle.entries:
            for entry in bundle.entries:
                if entry.chain:
                    leaf_cert = entry.chain[0]
                    _add_leaf(leaves, leaf_cert, f.name, entry.key)
                    for c in entry.chain[1:]:
                        cas.setdefault(sha256_fingerprint(c), (c, f.name))
            paired = {sha256_fingerprint(e.chain[0]) for e in bundle.entries if e.chain}
            rest = [c for c in bundle.certificates if sha256_fingerprint(c) not in paired]
        else:
            rest = list(bundle.certificates)
        leaf_set = {sha256_fingerprint(c) for c in find_leaves(rest)} if rest else set()
        for c in rest:
            fp = sha256_fingerprint(c)
            if fp in leaf_set and not _explicit_ca(c, rest):
                _add_leaf(leaves, c, f.name, None)
            else:
                cas.setdefault(fp, (c, f.name))
        loose_keys.extend(
            (k, f.name) for k in bundle.keys if not _key_in_entries(k, bundle.entries)
        )
        if progress:
            progress(i + 1)
    for f in key_files:
        bundle = load(f.data, password=options.key_password or options.password, name=f.name)
        if not bundle.keys:
            raise ValidationError(f"{f.name} holds no private key", field="key")
        loose_keys.extend((k, f.name) for k in bundle.keys)
        for c in bundle.certificates:
            cas.setdefault(sha256_fingerprint(c), (c, f.name)) if _explicit_ca(
                c, bundle.certificates
            ) else _add_leaf(leaves, c, f.name, None)
    for f in chain_files:
        bundle = load(f.data, password=options.password, name=f.name)
        for c in bundle.certificates:
            cas.setdefault(sha256_fingerprint(c), (c, f.name))
    # A CA certificate can itself be the thing imported when nothing else is a leaf.
    by_pub = {public_key_sha256(lf.cert.public_key()): lf for lf in leaves.values()}  # type: ignore[arg-type]
    for key, src in loose_keys:
        fp = describe_key(key).public_sha256
        target = by_pub.get(fp)
        if target is None:
            ca_match = [c for c, _ in cas.values() if public_key_sha256(c.public_key()) == fp]  # type: ignore[arg-type]
            if ca_match:
                continue
            if len(leaves) == 1:
                only = next(iter(leaves.values()))
                raise KeyMismatchError(
                    f"private key in {src} does not match certificate {only.cert.subject.rfc4514_string()}"
                )
            raise KeyMismatchError(
                f"private key in {src} matches none of the {len(leaves)} certificates"
            )
        if target.key is None:
            target.key = key
    return _Parsed(list(leaves.values()), cas)


def _explicit_ca(cert: x509.Certificate, others: Sequence[x509.Certificate]) -> bool:
    """A CA for import purposes: basicConstraints CA:TRUE, or (without the extension) the issuer of another input.

    Self-signed version-1 certificates without extensions are still common as quick server
    certificates (``openssl x509 -req -signkey``), so they count as leaves unless they issued something.
    """
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return is_ca(cert) and any(o is not cert and issued_by(o, cert) for o in others)


def _key_in_entries(key: PrivateKey, entries: Sequence[object]) -> bool:
    fp = describe_key(key).public_sha256
    for e in entries:
        k = getattr(e, "key", None)
        if k is not None and describe_key(k).public_sha256 == fp:
            return True
    return False


def _add_leaf(
    leaves: dict[str, _Leaf], cert: x509.Certificate, source: str, key: PrivateKey | None
) -> None:
    fp = sha256_fingerprint(cert)
    existing = leaves.get(fp)
    if existing is None:
        leaves[fp] = _Leaf(cert, fp, source, key, summarize(cert))
    elif existing.key is None and key is not None:
        existing.key = key


async def import_files(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    files: Sequence[ImportFile],
    *,
    key_files: Sequence[ImportFile] = (),
    chain_files: Sequence[ImportFile] = (),
    options: ImportOptions = ImportOptions(),
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ImportResult]:
    """Import certificates (with chains and keys) in one transaction.

    Raises:
        InputError: Any file is bad; nothing is saved then.
        ValidationError: ``--name`` with more than one certificate.
    """
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
                f"--name applies to one certificate, but the input holds {len(parsed.leaves)}",
                field="name",
            )
        if not options.name.strip() or len(options.name) > 200:
            raise ValidationError("name must be 1-200 characters", field="name")
    now = (clock or SystemClock()).now()
    async with db.transaction() as s:
        return await _save(s, vault, actor, parsed, options, now)


async def _save(
    s: AsyncSession,
    vault: MasterKey,
    actor: Actor,
    parsed: _Parsed,
    options: ImportOptions,
    now: dt.datetime,
) -> list[ImportResult]:
    pool = dict(parsed.cas)
    for c in await known_ca_certificates(s):
        pool.setdefault(sha256_fingerprint(c), (c, "repository"))
    candidates = [c for c, _ in pool.values()]
    await asyncio.to_thread(_chains, parsed.leaves, candidates)

    # CA certificates: the ones used in chains plus the ones given on their own.
    needed: dict[str, tuple[x509.Certificate, str]] = {fp: pool[fp] for fp in parsed.cas}
    for leaf in parsed.leaves:
        for c in leaf.chain:
            needed.setdefault(sha256_fingerprint(c), (c, leaf.source))
    all_fps = [lf.sha256 for lf in parsed.leaves] + list(needed)
    existing = await _existing_certs(s, all_fps)
    ca_results: list[ImportResult] = []
    new_ca_rows: dict[str, Certificate] = {}
    for fp, (c, _src) in needed.items():
        if fp in existing:
            continue
        row = certificate_row(c, source=CertificateSource.IMPORTED, now=now)
        row.signature_problem = await asyncio.to_thread(_ca_signature_problem, c, candidates)
        s.add(row)
        new_ca_rows[fp] = row
    await s.flush()
    ca_rows = {**{fp: r for fp, r in existing.items() if fp in needed}, **new_ca_rows}
    for fp, row in new_ca_rows.items():
        src = needed[fp][1]
        if fp in parsed.cas:
            audit(
                s,
                actor,
                "certificate.import",
                "certificate",
                row.id,
                {"sha256": fp, "ca": True, "file": src},
            )
            ca_results.append(
                _result(
                    row,
                    created=True,
                    d=None,
                    has_key=False,
                    chain=(),
                    complete=row.self_signed,
                    src=src,
                    current=False,
                    warnings=(row.signature_problem,) if row.signature_problem else (),
                    signature_verified=row.signature_problem is None,
                )
            )
    for fp in parsed.cas:
        if fp in existing:
            row = existing[fp]
            ca_results.append(
                _result(
                    row,
                    created=False,
                    d=None,
                    has_key=row.private_key_id is not None,
                    chain=(),
                    complete=row.self_signed,
                    src=parsed.cas[fp][1],
                    current=False,
                )
            )

    # Keys.
    key_fps = {
        describe_key(lf.key).public_sha256: lf.key for lf in parsed.leaves if lf.key is not None
    }
    key_rows = await _existing_keys(s, list(key_fps))
    for fp, key in key_fps.items():
        if fp not in key_rows:
            krow = key_row(key, vault, origin=KeyOrigin.IMPORTED, now=now)
            s.add(krow)
            key_rows[fp] = krow
        elif key_rows[fp].sealed_pkcs8 is None:
            key_rows[fp].sealed_pkcs8 = key_row(
                key, vault, origin=KeyOrigin.IMPORTED, now=now
            ).sealed_pkcs8
    await s.flush()

    # Definitions, certificates, chain links and audit events of new leaves: a few bulk statements.
    our_ca_subjects = set((await s.execute(select(CertificateAuthority.subject))).scalars().all())
    results: list[ImportResult] = []
    new_leaves = [lf for lf in parsed.leaves if lf.sha256 not in existing]
    matched = await _matching_definitions(s, new_leaves, options.name)
    taken_names = await _taken_names(s, [_base_name(lf) for lf in new_leaves])
    leaf_def: dict[str, tuple[int, str]] = {fp: (d.id, d.name) for fp, d in matched.items()}
    new_defs: list[tuple[_Leaf, dict[str, Any]]] = []
    for leaf in new_leaves:
        if leaf.sha256 in matched:
            continue
        sm = leaf.summary or summarize(leaf.cert)
        name = options.name.strip() if options.name else _free_name(_base_name(leaf), taken_names)
        taken_names.add(name)
        new_defs.append(
            (
                leaf,
                {
                    "name": name,
                    "common_name": (sm.common_name or "")[:64],
                    "sans": _definition_sans(sm),
                    "key_type": key_type_of(leaf.cert.public_key()),  # type: ignore[arg-type]
                    "issuer_kind": IssuerKind.PRIVATE_CA.value
                    if sm.issuer in our_ca_subjects
                    else IssuerKind.VENDOR.value,
                    "requirements": {},
                    "renewal_policy": {},
                    "notes": f"Imported from {leaf.source}"[:1000],
                    "created_at": now,
                    "updated_at": now,
                },
            )
        )
    if new_defs:
        # Plain executemany plus a lookup by the unique name: RETURNING in parameter order would
        # cost one statement per row on SQLite.
        await s.execute(insert(CertificateDefinition), [v for _, v in new_defs])
        ids_by_name = await _ids_by(
            s,
            CertificateDefinition.name,
            CertificateDefinition.id,
            [v["name"] for _, v in new_defs],
        )
        for leaf, values in new_defs:
            leaf_def[leaf.sha256] = (ids_by_name[values["name"]], values["name"])
    cert_values = []
    for leaf in new_leaves:
        values = certificate_values(
            leaf.cert, source=CertificateSource.IMPORTED, now=now, summary=leaf.summary
        )
        values["definition_id"] = leaf_def[leaf.sha256][0]
        values["private_key_id"] = (
            key_rows[describe_key(leaf.key).public_sha256].id if leaf.key is not None else None
        )
        values["signature_problem"] = leaf.signature_problem
        cert_values.append(values)
    cert_ids: list[int] = []
    if cert_values:
        await s.execute(insert(Certificate), cert_values)
        ids_by_sha = await _ids_by(
            s, Certificate.sha256, Certificate.id, [v["sha256"] for v in cert_values]
        )
        cert_ids = [ids_by_sha[v["sha256"]] for v in cert_values]
    # The newest certificate of each definition becomes current (unless an existing current one lasts longer).
    current_after = await _current_not_after(
        s, [d.current_certificate_id for d in matched.values() if d.current_certificate_id]
    )
    best: dict[int, tuple[dt.datetime, int]] = {
        d.id: (current_after[d.current_certificate_id], d.current_certificate_id)
        for d in matched.values()
        if d.current_certificate_id is not None and d.current_certificate_id in current_after
    }
    for values, cert_id in zip(cert_values, cert_ids, strict=True):
        def_id = values["definition_id"]
        if values["signature_problem"] and not options.accept_unverified:
            continue  # a corrupted or forged certificate is never made current by itself
        if def_id not in best or values["not_after"] > best[def_id][0]:
            best[def_id] = (values["not_after"], cert_id)
    new_current = {cert_id for _, cert_id in best.values()}
    cert_id_set = set(cert_ids)
    updates = [
        {"id": def_id, "current_certificate_id": cert_id, "updated_at": now}
        for def_id, (_, cert_id) in best.items()
        if cert_id in cert_id_set
    ]
    if updates:
        await s.execute(update(CertificateDefinition), updates)
    links = [
        {
            "certificate_id": cert_id,
            "position": pos,
            "ca_certificate_id": ca_rows[sha256_fingerprint(c)].id,
        }
        for leaf, cert_id in zip(new_leaves, cert_ids, strict=True)
        for pos, c in enumerate(leaf.chain)
    ]
    if links:
        await s.execute(insert(ChainLink), links)
    events = []
    for leaf, values, cert_id in zip(new_leaves, cert_values, cert_ids, strict=True):
        def_id, def_name = leaf_def[leaf.sha256]
        made_current = cert_id in new_current
        events.append(
            {
                "at": now,
                "actor": actor.name,
                "source": actor.source,
                "action": "certificate.import",
                "entity_type": "certificate",
                "entity_id": str(cert_id),
                "detail": {
                    "sha256": values["sha256"],
                    "definition": def_name,
                    "file": leaf.source,
                    "key": leaf.key is not None,
                    "current": made_current,
                    "signature_verified": leaf.signature_problem is None,
                    "accept_unverified": options.accept_unverified,
                },
            }
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
                warnings=_warnings(
                    leaf, now, made_current=made_current, accepted=options.accept_unverified
                ),
                signature_verified=leaf.signature_problem is None,
                odd_names=odd_names(leaf.summary or summarize(leaf.cert)),
            )
        )
    if events:
        await s.execute(insert(AuditEvent), events)
    # Already known leaves: report, and attach a newly supplied key.
    for leaf in parsed.leaves:
        if leaf.sha256 not in existing:
            continue
        row = existing[leaf.sha256]
        if leaf.key is not None and row.private_key_id is None:
            row.private_key_id = key_rows[describe_key(leaf.key).public_sha256].id
            audit(s, actor, "certificate.attach-key", "certificate", row.id, {"sha256": row.sha256})
        d_existing = (
            await s.get(CertificateDefinition, row.definition_id) if row.definition_id else None
        )
        chain_len = len(
            (
                await s.execute(
                    select(ChainLink.position).where(ChainLink.certificate_id == row.id)
                )
            ).all()
        )
        current = bool(d_existing and d_existing.current_certificate_id == row.id)
        if options.accept_unverified and row.signature_problem and d_existing and not current:
            current = await _make_current_if_newer(s, actor, d_existing, row, now)
        results.append(
            _result(
                row,
                created=False,
                d=d_existing,
                has_key=row.private_key_id is not None,
                chain=(None,) * chain_len,
                complete=leaf.complete,
                src=leaf.source,
                current=current,
                warnings=(
                    _signature_warning(
                        row.signature_problem,
                        made_current=current,
                        accepted=options.accept_unverified,
                    ),
                )
                if row.signature_problem
                else (),
                signature_verified=row.signature_problem is None,
            )
        )
    await s.flush()
    return results + ca_results


def _chains(leaves: list[_Leaf], candidates: list[x509.Certificate]) -> None:
    """Build every leaf's chain; a CA's own chain is built once and shared by the leaves it issued.

    Every signature on the way is verified: a certificate that names an issuer found among the
    candidates whose key does not verify it leaves ``signature_problem`` set on the leaf.
    """
    by_subject: dict[bytes, list[x509.Certificate]] = {}
    for c in candidates:
        by_subject.setdefault(c.subject.public_bytes(), []).append(c)
    ca_chains: dict[bytes, ChainResult] = {}
    for leaf in leaves:
        parent = next(
            (
                p
                for p in by_subject.get(leaf.cert.issuer.public_bytes(), ())
                if issued_by(leaf.cert, p)
            ),
            None,
        )
        if parent is None:
            res = build_chain(leaf.cert, candidates)
            leaf.chain, leaf.complete, leaf.missing = (
                tuple(res.chain),
                res.complete,
                res.missing_issuer,
            )
            leaf.signature_problem = signature_problem(res)
            continue
        key = parent.fingerprint(hashes.SHA256())
        if key not in ca_chains:
            ca_chains[key] = build_chain(parent, candidates)
        up = ca_chains[key]
        if is_self_signed(parent):
            leaf.chain, leaf.complete, leaf.missing = (parent,), True, None
        else:
            leaf.chain, leaf.complete, leaf.missing = (
                (parent, *up.chain),
                up.complete,
                up.missing_issuer,
            )
            leaf.signature_problem = signature_problem(up)


def _ca_signature_problem(cert: x509.Certificate, candidates: list[x509.Certificate]) -> str | None:
    issuer = forged_by(cert, candidates)
    if issuer is None:
        return None
    name = escape_text(summarize(issuer).subject)
    return f"signature does not verify with the key of its issuer {name} (a corrupted or forged certificate)"[
        :500
    ]


async def _make_current_if_newer(
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


def signature_problem(res: ChainResult) -> str | None:
    """The stored flag of a chain whose signatures do not all verify (None when they do)."""
    if res.bad_signature is None:
        return None
    issuer = escape_text(res.bad_signature_issuer or "?")
    if res.bad_signature is res.leaf:
        text = f"signature does not verify with the key of its issuer {issuer}"
    else:
        subject = escape_text(summarize(res.bad_signature).subject)
        text = (
            f"signature does not verify on its chain: {subject} is not signed by the key of "
            f"its issuer {issuer}"
        )
    return (text + " (a corrupted or forged certificate)")[:500]


def _signature_warning(problem: str, *, made_current: bool, accepted: bool) -> str:
    if made_current:
        return f"{problem}; made current because unverified signatures were accepted"
    if accepted:
        return f"{problem}; stored flagged (a longer-lived current certificate was kept)"
    return (
        f"{problem}; stored flagged and not made current "
        "(to use it anyway, import it again with --accept-unverified)"
    )


def odd_names(summary: CertSummary) -> tuple[str, ...]:
    """Escaped odd names: DNS SANs that are not valid DNS names, a subject with control characters."""
    out = [escape_text(n) for n in summary.dns_names if not is_dns_name(n)]
    if escape_text(summary.subject) != summary.subject:
        out.append(escape_text(summary.subject))
    return tuple(out)


def _definition_sans(summary: CertSummary) -> list[str]:
    """The SANs a definition made from this certificate gets: its valid DNS names and addresses.

    Odd values stay on the certificate (it is deployed somewhere and is monitored as it is); a
    definition holds only what certmgr could put into a CSR for its renewal.
    """
    valid = [n for n in summary.dns_names if is_dns_name(n)]
    return normalized_sans("", (*valid, *summary.ip_addresses))


def preview_warnings(parsed: _Parsed, now: dt.datetime) -> dict[str, tuple[str, ...]]:
    """What an import would warn about, per leaf SHA-256, from the supplied files alone.

    CPU only (run it off the event loop); the repository's CA certificates join on saving.
    """
    _chains(parsed.leaves, [c for c, _ in parsed.cas.values()])
    out: dict[str, tuple[str, ...]] = {}
    for leaf in parsed.leaves:
        warnings = list(_warnings(leaf, now, made_current=False, accepted=True))
        if leaf.signature_problem:
            warnings[0] = (
                f"{leaf.signature_problem}: it is stored flagged and made current only when "
                "unverified signatures are accepted"
            )
        out[leaf.sha256] = tuple(warnings)
    return out


def _warnings(
    leaf: _Leaf, now: dt.datetime, *, made_current: bool, accepted: bool
) -> tuple[str, ...]:
    out = []
    if leaf.signature_problem:
        out.append(
            _signature_warning(leaf.signature_problem, made_current=made_current, accepted=accepted)
        )
    elif not leaf.complete:
        out.append(f"chain incomplete: issuer {escape_text(leaf.missing or '?')} not found")
    sm = leaf.summary or summarize(leaf.cert)
    bad_dns = [escape_text(n) for n in sm.dns_names if not is_dns_name(n)]
    if bad_dns:
        out.append(
            "not valid DNS names (kept on the certificate, left out of its definition): "
            + ", ".join(f"'{n}'" for n in bad_dns)
        )
    if escape_text(sm.subject) != sm.subject:
        out.append(f"the subject holds control characters: '{escape_text(sm.subject)}'")
    if leaf.cert.not_valid_after_utc < now:
        out.append("certificate has expired")
    return tuple(out)


def _result(
    row: Certificate,
    *,
    created: bool,
    d: CertificateDefinition | None,
    has_key: bool,
    chain: Sequence[object],
    complete: bool,
    src: str,
    current: bool,
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
        chain_length=len(chain),
        chain_complete=complete,
        is_ca=row.is_ca,
        subject=row.subject,
        not_after=row.not_after,
        source_file=src,
        made_current=current,
        warnings=warnings,
        signature_verified=signature_verified,
    )


def _base_name(leaf: _Leaf) -> str:
    s = leaf.summary or summarize(leaf.cert)
    # Definition names are printable text (as validate_spec requires); a CN may hold anything.
    return escape_text(s.common_name or (s.sans[0] if s.sans else "") or s.sha256[:16])[:190]


def _free_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"


async def _taken_names(s: AsyncSession, bases: list[str]) -> set[str]:
    taken: set[str] = set()
    uniq = list(set(bases))
    for i in range(0, len(uniq), _CHUNK):
        part = uniq[i : i + _CHUNK]
        rows = await s.execute(
            select(CertificateDefinition.name).where(CertificateDefinition.name.in_(part))
        )
        taken.update(rows.scalars().all())
    # Names like "x (2)" for the bases that are taken.
    for base in [b for b in uniq if b in taken]:
        like = numbered_copies(base)
        rows = await s.execute(
            select(CertificateDefinition.name).where(
                CertificateDefinition.name.like(like, escape=LIKE_ESCAPE)
            )
        )
        taken.update(rows.scalars().all())
    return taken


async def _ids_by(s: AsyncSession, key_col: Any, id_col: Any, keys: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in range(0, len(keys), _CHUNK):
        rows = await s.execute(select(key_col, id_col).where(key_col.in_(keys[i : i + _CHUNK])))
        out.update({k: int(v) for k, v in rows.all()})
    return out


async def _existing_certs(s: AsyncSession, fps: list[str]) -> dict[str, Certificate]:
    out: dict[str, Certificate] = {}
    uniq = list(dict.fromkeys(fps))
    for i in range(0, len(uniq), _CHUNK):
        rows = await s.execute(
            select(Certificate).where(Certificate.sha256.in_(uniq[i : i + _CHUNK]))
        )
        out.update({r.sha256: r for r in rows.scalars().all()})
    return out


async def _existing_keys(s: AsyncSession, fps: list[str]) -> dict[str, PrivateKeyRecord]:
    out: dict[str, PrivateKeyRecord] = {}
    for i in range(0, len(fps), _CHUNK):
        rows = await s.execute(
            select(PrivateKeyRecord).where(PrivateKeyRecord.public_sha256.in_(fps[i : i + _CHUNK]))
        )
        out.update({r.public_sha256: r for r in rows.scalars().all()})
    return out


async def _current_not_after(
    s: AsyncSession, ids: list[int | None]
) -> dict[int | None, dt.datetime]:
    out: dict[int | None, dt.datetime] = {}
    real = [i for i in set(ids) if i is not None]
    for i in range(0, len(real), _CHUNK):
        rows = await s.execute(
            select(Certificate.id, Certificate.not_after).where(
                Certificate.id.in_(real[i : i + _CHUNK])
            )
        )
        out.update(dict(rows.all()))
    return out


async def _matching_definitions(
    s: AsyncSession, leaves: list[_Leaf], name: str | None
) -> dict[str, CertificateDefinition]:
    """Existing definitions a new certificate belongs to: by ``--name``, else same CN and same SANs."""
    out: dict[str, CertificateDefinition] = {}
    if not leaves:
        return out
    if name is not None:
        d = (
            await s.execute(
                select(CertificateDefinition).where(CertificateDefinition.name == name.strip())
            )
        ).scalar_one_or_none()
        if d is not None:
            out[leaves[0].sha256] = d
        return out
    wanted: dict[str, list[tuple[_Leaf, list[str]]]] = {}
    for lf in leaves:
        sm = lf.summary or summarize(lf.cert)
        if sm.common_name:
            wanted.setdefault(sm.common_name[:64], []).append((lf, sorted(_definition_sans(sm))))
    cns = list(wanted)
    for i in range(0, len(cns), _CHUNK):
        rows = await s.execute(
            select(CertificateDefinition).where(
                CertificateDefinition.common_name.in_(cns[i : i + _CHUNK]),
                CertificateDefinition.archived.is_(False),
            )
        )
        for d in rows.scalars().all():
            for lf, sans in wanted.get(d.common_name, []):
                if sorted(d.sans) == sans and lf.sha256 not in out:
                    out[lf.sha256] = d
    return out
