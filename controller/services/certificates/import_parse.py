"""Parsing import inputs: pairing certificates, chains and keys, and judging them (CPU only, no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from certmgr.controller.services.acquisition.definitions import normalized_sans
from certmgr.shared.errors import KeyMismatchError, ValidationError
from certmgr.shared.pki import (
    CertSummary,
    ChainResult,
    PrivateKey,
    build_chain,
    cert_der,
    describe_key,
    find_leaves,
    forged_by,
    is_ca,
    is_dns_name,
    is_self_signed,
    issued_by,
    issued_by_many,
    load,
    public_key_sha256,
    sha256_fingerprint,
    summarize,
)
from certmgr.shared.text import escape_text


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


@dataclass
class ParsedLeaf:
    """A leaf certificate found in the inputs, with its key and (once built) its chain."""

    cert: x509.Certificate
    sha256: str
    source: str
    key: PrivateKey | None = None
    summary: CertSummary | None = None
    chain: tuple[x509.Certificate, ...] = ()
    complete: bool = False
    missing: str | None = None
    signature_problem: str | None = None
    # worked out once, in the parsing thread (see leaf_definition_sans)
    definition_sans: list[str] | None = None


@dataclass
class ParsedImport:
    """Everything the inputs hold: leaves, and CA certificates by SHA-256."""

    leaves: list[ParsedLeaf]
    cas: dict[str, tuple[x509.Certificate, str]]  # sha256 -> (cert, source file)


def parse_inputs(
    files: Sequence[ImportFile],
    *,
    key_files: Sequence[ImportFile] = (),
    chain_files: Sequence[ImportFile] = (),
    options: ImportOptions = ImportOptions(),
    progress: Callable[[int], None] | None = None,
) -> ParsedImport:
    """Parse and pair everything (CPU only, no database).

    Raises:
        InputError: A file is unreadable, encrypted with another passphrase, or a key matches nothing.
    """
    leaves: dict[str, ParsedLeaf] = {}
    cas: dict[str, tuple[x509.Certificate, str]] = {}
    loose_keys: list[tuple[PrivateKey, str]] = []
    if not files:
        raise ValidationError("no files to import", field="files")
    for i, f in enumerate(files):
        bundle = load(
            f.data, password=options.password, key_password=options.key_password, name=f.name
        )
        if not bundle.certificates and not bundle.keys:  # an empty keystore loads without error
            raise ValidationError(
                f"{f.name} holds no certificate or private key (the keystore is empty)",
                field="files",
            )
        # A keystore's key entries are leaves with their chains; its trusted-certificate entries
        # (keytool -importcert, a certificates-only PKCS#12) are judged like loose certificates,
        # so a CA certificate there stays a CA and completes the chains of the others.
        key_entries = [e for e in bundle.entries if e.chain and e.key is not None]
        if key_entries:
            for entry in key_entries:
                leaf_cert = entry.chain[0]
                _add_leaf(leaves, leaf_cert, f.name, entry.key)
                for c in entry.chain[1:]:
                    cas.setdefault(sha256_fingerprint(c), (c, f.name))
            paired = {sha256_fingerprint(e.chain[0]) for e in key_entries}
            rest = [c for c in bundle.certificates if sha256_fingerprint(c) not in paired]
        else:
            rest = list(bundle.certificates)
        ders = {id(c): cert_der(c) for c in rest}  # each certificate encoded and hashed once
        fps = {i: sha256_fingerprint(der) for i, der in ders.items()}
        leaf_set = {fps.get(id(c)) or sha256_fingerprint(c) for c in find_leaves(rest)}
        for c in rest:
            fp = fps[id(c)]
            if fp in leaf_set and not _explicit_ca(c, rest):
                _add_leaf(leaves, c, f.name, None, fp, ders[id(c)])
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
        if not bundle.certificates:
            raise ValidationError(f"{f.name} holds no certificate for the chain", field="chain")
        for c in bundle.certificates:
            cas.setdefault(sha256_fingerprint(c), (c, f.name))
    # A chain file is often the full chain (certbot's fullchain.pem, a .p7b with the leaf): a
    # certificate imported as a leaf is not also stored as a CA certificate.
    for fp in leaves.keys() & cas.keys():
        del cas[fp]
    _promote_self_signed_with_key(leaves, cas, loose_keys)
    # A CA certificate can itself be the thing imported when nothing else is a leaf.
    by_pub = {_public_sha256(lf): lf for lf in leaves.values()} if loose_keys else {}
    for key, src in loose_keys:
        fp = describe_key(key).public_sha256
        target = by_pub.get(fp)
        if target is None:
            ca_match = [c for c, _ in cas.values() if public_key_sha256(c.public_key()) == fp]  # type: ignore[arg-type]
            if ca_match:
                continue
            if not leaves:
                raise KeyMismatchError(
                    f"private key in {src} comes without its certificate: import the "
                    "certificate with it (a key alone is not imported)"
                )
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
    return ParsedImport(list(leaves.values()), cas)


def _public_sha256(leaf: ParsedLeaf) -> str:
    if leaf.summary is not None and leaf.summary.key.public_sha256:
        return leaf.summary.key.public_sha256
    return public_key_sha256(leaf.cert.public_key())  # type: ignore[arg-type]


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
        # a keystore's key without a certificate is a loose key: it must match one of the input
        if k is not None and getattr(e, "chain", None) and describe_key(k).public_sha256 == fp:
            return True
    return False


def _promote_self_signed_with_key(
    leaves: dict[str, ParsedLeaf],
    cas: dict[str, tuple[x509.Certificate, str]],
    loose_keys: list[tuple[PrivateKey, str]],
) -> None:
    """Import a self-signed certificate that comes with its key as a server's own certificate.

    Unless it issues something else in the same import it is not a trust anchor:
    ``openssl req -x509`` marks every certificate it makes CA:TRUE by default.
    """
    if not loose_keys:
        return
    key_fps = {describe_key(k).public_sha256 for k, _ in loose_keys}
    others = [c for c, _ in cas.values()] + [lf.cert for lf in leaves.values()]
    for fp, (c, src) in list(cas.items()):
        if c.issuer != c.subject or public_key_sha256(c.public_key()) not in key_fps:  # type: ignore[arg-type]
            continue
        if any(o is not c and issued_by(o, c) for o in others):
            continue
        del cas[fp]
        _add_leaf(leaves, c, src, None)


def _add_leaf(
    leaves: dict[str, ParsedLeaf],
    cert: x509.Certificate,
    source: str,
    key: PrivateKey | None,
    fp: str | None = None,
    der: bytes | None = None,
) -> None:
    fp = fp or sha256_fingerprint(der or cert)
    existing = leaves.get(fp)
    if existing is None:
        summary = summarize(cert, der=der)
        leaves[fp] = ParsedLeaf(
            cert, fp, source, key, summary, definition_sans=definition_sans(summary)
        )
    elif existing.key is None and key is not None:
        existing.key = key


def build_chains(leaves: list[ParsedLeaf], candidates: list[x509.Certificate]) -> None:
    """Build every leaf's chain; a CA's own chain is built once and shared by the leaves it issued.

    Every signature on the way is verified: a certificate that names an issuer found among the
    candidates whose key does not verify it leaves ``signature_problem`` set on the leaf.
    """
    by_subject: dict[bytes, list[x509.Certificate]] = {}
    for c in candidates:
        by_subject.setdefault(c.subject.public_bytes(), []).append(c)
    # per issuing CA object (the candidates are shared by all leaves): its chain, self-signed or not
    ca_chains: dict[int, tuple[ChainResult, bool]] = {}
    # every leaf's possible issuers, checked in one batch (the signatures on several threads)
    claims = [by_subject.get(leaf.cert.issuer.public_bytes(), []) for leaf in leaves]
    pairs = [(leaf.cert, p) for leaf, ps in zip(leaves, claims, strict=True) for p in ps]
    verdicts = iter(issued_by_many(pairs))
    for leaf, ps in zip(leaves, claims, strict=True):
        oks = [next(verdicts) for _ in ps]
        parent = next((p for p, ok in zip(ps, oks, strict=True) if ok), None)
        if parent is None:
            res = build_chain(leaf.cert, candidates)
            leaf.chain, leaf.complete, leaf.missing = (
                tuple(res.chain),
                res.complete,
                res.missing_issuer,
            )
            leaf.signature_problem = signature_problem(res)
            continue
        if id(parent) not in ca_chains:
            ca_chains[id(parent)] = (build_chain(parent, candidates), is_self_signed(parent))
        up, parent_self_signed = ca_chains[id(parent)]
        if parent_self_signed:
            leaf.chain, leaf.complete, leaf.missing = (parent,), True, None
        else:
            leaf.chain, leaf.complete, leaf.missing = (
                (parent, *up.chain),
                up.complete,
                up.missing_issuer,
            )
            leaf.signature_problem = signature_problem(up)


def ca_signature_problem(cert: x509.Certificate, candidates: list[x509.Certificate]) -> str | None:
    """Why a CA certificate's signature does not verify with its issuer among ``candidates`` (None when it does)."""
    issuer = forged_by(cert, candidates)
    if issuer is None:
        return None
    name = escape_text(summarize(issuer).subject)
    return f"signature does not verify with the key of its issuer {name} (a corrupted or forged certificate)"[
        :500
    ]


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


def signature_warning(problem: str, *, made_current: bool, accepted: bool) -> str:
    """The import warning of a flagged certificate."""
    if made_current:
        return f"{problem}; made current because unverified signatures were accepted"
    if accepted:
        return f"{problem}; stored flagged (a longer-lived current certificate was kept)"
    return (
        f"{problem}; stored flagged and not made current "
        "(to use it anyway, import it again and accept unverified signatures)"
    )


def odd_names(summary: CertSummary) -> tuple[str, ...]:
    """Escaped odd names: DNS SANs that are not valid DNS names, a subject with control characters."""
    out = [escape_text(n) for n in summary.dns_names if not is_dns_name(n)]
    if escape_text(summary.subject) != summary.subject:
        out.append(escape_text(summary.subject))
    return tuple(out)


def definition_sans(summary: CertSummary) -> list[str]:
    """The SANs a definition made from this certificate gets: its valid DNS names and addresses.

    Odd values stay on the certificate (it is deployed somewhere and is monitored as it is); a
    definition holds only what certmgr could put into a CSR for its renewal.
    """
    valid = [n for n in summary.dns_names if is_dns_name(n)]
    return normalized_sans("", (*valid, *summary.ip_addresses))


def leaf_definition_sans(leaf: ParsedLeaf) -> list[str]:
    """:func:`definition_sans` of a leaf (worked out on parsing; a copy the caller may change)."""
    if leaf.definition_sans is None:
        leaf.definition_sans = definition_sans(leaf.summary or summarize(leaf.cert))
    return list(leaf.definition_sans)


def preview_warnings(parsed: ParsedImport, now: dt.datetime) -> dict[str, tuple[str, ...]]:
    """What an import would warn about, per leaf SHA-256, from the supplied files alone.

    CPU only (run it off the event loop); the repository's CA certificates join on saving.
    """
    build_chains(parsed.leaves, [c for c, _ in parsed.cas.values()])
    out: dict[str, tuple[str, ...]] = {}
    for leaf in parsed.leaves:
        warnings = list(leaf_warnings(leaf, now, made_current=False, accepted=True))
        if leaf.signature_problem:
            warnings[0] = (
                f"{leaf.signature_problem}: it is stored flagged and made current only when "
                "unverified signatures are accepted"
            )
        out[leaf.sha256] = tuple(warnings)
    return out


def leaf_warnings(
    leaf: ParsedLeaf, now: dt.datetime, *, made_current: bool, accepted: bool
) -> tuple[str, ...]:
    """What to warn about a leaf: signature, incomplete chain, odd names, expiry."""
    out = []
    if leaf.signature_problem:
        out.append(
            signature_warning(leaf.signature_problem, made_current=made_current, accepted=accepted)
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
    nb, na = leaf.cert.not_valid_before_utc, leaf.cert.not_valid_after_utc
    if na < now:
        out.append(
            f"the certificate expired on {na:%Y-%m-%d %H:%M} UTC (valid from "
            f"{nb:%Y-%m-%d} to {na:%Y-%m-%d}): servers given it are refused by clients; "
            "renew it or import its successor"
        )
    elif nb > now:
        out.append(
            f"the certificate is not valid yet: valid from {nb:%Y-%m-%d %H:%M} UTC to "
            f"{na:%Y-%m-%d}; clients refuse it until then"
        )
    return tuple(out)


def base_name(leaf: ParsedLeaf) -> str:
    """The name a definition made from this leaf starts from."""
    s = leaf.summary or summarize(leaf.cert)
    # Definition names are printable text (as validate_spec requires); a CN may hold anything.
    return escape_text(s.common_name or (s.sans[0] if s.sans else "") or s.sha256[:16])[:190]


def free_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base (N)`` with the lowest N not in ``taken``."""
    if base not in taken:
        return base
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"


@dataclass(frozen=True)
class ChainPlan:
    """The CA certificates an import stores (SHA-256 to certificate and source) and their signature flags."""

    needed: dict[str, tuple[x509.Certificate, str]]
    ca_problems: dict[str, str | None]


def plan_chains(parsed: ParsedImport, known: Sequence[x509.Certificate]) -> ChainPlan:
    """Build every leaf's chain from the inputs and the repository's CA certificates (``known``).

    CPU only: run it in a worker thread, before the transaction that saves the import.
    """
    pool = dict(parsed.cas)
    for c in known:
        pool.setdefault(sha256_fingerprint(c), (c, "repository"))
    candidates = [c for c, _ in pool.values()]
    build_chains(parsed.leaves, candidates)
    # CA certificates: the ones used in chains plus the ones given on their own.
    needed: dict[str, tuple[x509.Certificate, str]] = {fp: pool[fp] for fp in parsed.cas}
    fp_of: dict[int, str] = {}  # leaves share their issuers' objects: each hashed once
    for leaf in parsed.leaves:
        for c in leaf.chain:
            fp = fp_of.get(id(c))
            if fp is None:
                fp = fp_of[id(c)] = sha256_fingerprint(c)
            needed.setdefault(fp, (c, leaf.source))
    problems = {fp: ca_signature_problem(c, candidates) for fp, (c, _) in needed.items()}
    return ChainPlan(needed, problems)
