"""Import of certificates, chains and keys from files of any supported format.

One call is one transaction: every file is parsed and checked first, then everything is saved
together, or nothing is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateAuthority,
    CertificateDefinition,
    ChainLink,
    PrivateKeyRecord,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.values import CertificateSource, IssuerKind, KeyOrigin
from certmgr.controller.services.audit import audit
from certmgr.controller.services.definitions import normalized_sans
from certmgr.controller.services.repository import certificate_row, key_row, known_ca_certificates
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import KeyMismatchError, ValidationError
from certmgr.shared.pki import (
    PrivateKey,
    build_chain,
    describe_key,
    find_leaves,
    is_ca,
    issued_by,
    key_type_of,
    load,
    public_key_sha256,
    sha256_fingerprint,
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
            "warnings": list(self.warnings),
        }


@dataclass
class _Leaf:
    cert: x509.Certificate
    sha256: str
    source: str
    key: PrivateKey | None = None
    chain: tuple[x509.Certificate, ...] = ()
    complete: bool = False
    missing: str | None = None


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
        leaves[fp] = _Leaf(cert, fp, source, key)
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
    for leaf in parsed.leaves:
        res = build_chain(leaf.cert, candidates)
        leaf.chain, leaf.complete, leaf.missing = tuple(res.chain), res.complete, res.missing_issuer

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

    # Definitions for new leaves.
    our_ca_subjects = set((await s.execute(select(CertificateAuthority.subject))).scalars().all())
    results: list[ImportResult] = []
    new_leaves = [lf for lf in parsed.leaves if lf.sha256 not in existing]
    defs = await _matching_definitions(s, new_leaves, options.name)
    taken_names = await _taken_names(s, [_base_name(lf.cert) for lf in new_leaves])
    new_rows: list[tuple[_Leaf, Certificate, CertificateDefinition]] = []
    for leaf in new_leaves:
        row = certificate_row(leaf.cert, source=CertificateSource.IMPORTED, now=now)
        if leaf.key is not None:
            row.private_key_id = key_rows[describe_key(leaf.key).public_sha256].id
        d = defs.get(leaf.sha256)
        if d is None:
            name = (
                options.name.strip()
                if options.name
                else _free_name(_base_name(leaf.cert), taken_names)
            )
            taken_names.add(name)
            d = CertificateDefinition(
                name=name,
                common_name=(row.common_name or "")[:64],
                sans=normalized_sans("", tuple(row.sans)) if row.sans else [],
                key_type=key_type_of(leaf.cert.public_key()),  # type: ignore[arg-type]
                issuer_kind=IssuerKind.PRIVATE_CA.value
                if row.issuer in our_ca_subjects
                else IssuerKind.VENDOR.value,
                requirements={},
                renewal_policy={},
                created_at=now,
                updated_at=now,
                notes=f"Imported from {leaf.source}"[:1000],
            )
            s.add(d)
        new_rows.append((leaf, row, d))
        s.add(row)
    await s.flush()
    current_after = await _current_not_after(
        s, [d.current_certificate_id for _, _, d in new_rows if d.current_certificate_id]
    )
    for leaf, row, d in new_rows:
        row.definition_id = d.id
        for pos, c in enumerate(leaf.chain):
            s.add(
                ChainLink(
                    certificate_id=row.id,
                    position=pos,
                    ca_certificate_id=ca_rows[sha256_fingerprint(c)].id,
                )
            )
        cur = current_after.get(d.current_certificate_id) if d.current_certificate_id else None
        made_current = cur is None or row.not_after > cur
        if made_current:
            d.current_certificate_id = row.id
            d.updated_at = now
            current_after[row.id] = row.not_after
        warnings = _warnings(leaf, now)
        audit(
            s,
            actor,
            "certificate.import",
            "certificate",
            row.id,
            {
                "sha256": row.sha256,
                "definition": d.name,
                "file": leaf.source,
                "key": leaf.key is not None,
                "current": made_current,
            },
        )
        results.append(
            _result(
                row,
                created=True,
                d=d,
                has_key=leaf.key is not None,
                chain=leaf.chain,
                complete=leaf.complete,
                src=leaf.source,
                current=made_current,
                warnings=warnings,
            )
        )
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
        results.append(
            _result(
                row,
                created=False,
                d=d_existing,
                has_key=row.private_key_id is not None,
                chain=(None,) * chain_len,
                complete=leaf.complete,
                src=leaf.source,
                current=bool(d_existing and d_existing.current_certificate_id == row.id),
            )
        )
    await s.flush()
    return results + ca_results


def _warnings(leaf: _Leaf, now: dt.datetime) -> tuple[str, ...]:
    out = []
    if not leaf.complete:
        out.append(f"chain incomplete: issuer {leaf.missing or '?'} not found")
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
    )


def _base_name(cert: x509.Certificate) -> str:
    from certmgr.shared.pki import summarize

    s = summarize(cert)
    return (s.common_name or (s.sans[0] if s.sans else "") or s.sha256[:16])[:190]


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
        like = base.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + " (%)"
        rows = await s.execute(
            select(CertificateDefinition.name).where(
                CertificateDefinition.name.like(like, escape="\\")
            )
        )
        taken.update(rows.scalars().all())
    return taken


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
    from certmgr.shared.pki import summarize

    wanted: dict[str, list[tuple[_Leaf, list[str]]]] = {}
    for lf in leaves:
        sm = summarize(lf.cert)
        if sm.common_name:
            wanted.setdefault(sm.common_name[:64], []).append((lf, sorted(sm.sans)))
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
