"""The rules of the trust policy, one pure function each, over the trust path of a served chain.

Each returns :class:`Finding` values (a sentence and the certificate it is about);
:func:`~certmgr.shared.discovery.policy.judge` gives them their rule id and severity.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from certmgr.shared.discovery._policyjson import PROTOCOLS, escape, spki
from certmgr.shared.pki.chain import build_chain, is_self_signed

RevokedEntry = tuple[bytes | str, int]
"""``(issuer, serial)``: the issuer as its SubjectPublicKeyInfo DER or its RFC 4514 name."""

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Finding:
    """One rule broken: a plain sentence and the subject of the certificate concerned."""

    message: str
    subject: str | None = None


@dataclass(frozen=True)
class TrustPath:
    """The leaf and the issuers found for it (served or anchors), with which are anchors.

    ``anchor`` holds one flag per certificate of ``certs``; ``bad_signature`` names the
    certificate whose signature failed with the issuer it names, if any.
    """

    certs: tuple[x509.Certificate, ...]
    anchor: tuple[bool, ...]
    bad_signature: str | None

    @property
    def trusted(self) -> bool:
        """True when the path reaches a trust anchor (or the leaf is one)."""
        return any(self.anchor) and self.bad_signature is None

    def judged(self) -> Iterator[tuple[int, x509.Certificate]]:
        """Certificates whose own signature is relied upon: neither anchors nor self-signed."""
        for i, c in enumerate(self.certs):
            if not self.anchor[i] and not is_self_signed(c):
                yield i, c


def subject_of(cert: x509.Certificate) -> str:
    """The subject as safe RFC 4514 text."""
    return escape(cert.subject)


def _key_id(cert: x509.Certificate) -> tuple[bytes, bytes] | None:
    try:
        return cert.subject.public_bytes(), spki(cert)
    except (ValueError, UnsupportedAlgorithm):
        return None


def trust_path(
    leaf: x509.Certificate,
    served: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    known: Sequence[x509.Certificate] = (),
) -> TrustPath:
    """Build the path from ``leaf`` over what was served and the roots, and mark the anchors.

    A certificate counts as an anchor when its subject and public key are those of a root (a
    re-issued root with the same key is still the anchor). ``known`` are further candidates
    for the issuers the server did not send.
    """
    anchors = {k for r in roots if (k := _key_id(r)) is not None}
    built = build_chain(leaf, [*(c for c in served if c != leaf), *known], trusted=roots)
    certs = (leaf, *built.chain)
    flags = tuple(_key_id(c) in anchors for c in certs)
    bad = subject_of(built.bad_signature) if built.bad_signature is not None else None
    return TrustPath(certs, flags, bad)


def issuers_among(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    system_roots: Sequence[x509.Certificate],
) -> list[x509.Certificate]:
    """The anchors and roots that may issue a certificate of ``chain`` (by name)."""
    wanted = set()
    for c in chain:
        with contextlib.suppress(ValueError):
            wanted.add(c.issuer.public_bytes())
    found: dict[x509.Certificate, None] = {}
    for a in anchors:
        with contextlib.suppress(ValueError):
            if a.subject.public_bytes() in wanted:
                found[a] = None
    index = _by_subject(system_roots)
    for key in wanted:
        found.update(dict.fromkeys(index.get(key, ())))
    return list(found)


_INDEXES: dict[
    int, tuple[tuple[x509.Certificate, ...], Mapping[bytes, tuple[x509.Certificate, ...]]]
] = {}


def _by_subject(roots: Sequence[x509.Certificate]) -> Mapping[bytes, tuple[x509.Certificate, ...]]:
    # The same store (the system's ~150 roots) serves every chain of a scan: a tuple (immutable,
    # as load_system_roots returns it) is indexed once and remembered by identity (the entry
    # holds the tuple, so its id is not reused); anything else is indexed per call.
    if isinstance(roots, tuple) and (hit := _INDEXES.get(id(roots))) is not None:
        return hit[1]
    index: dict[bytes, tuple[x509.Certificate, ...]] = {}
    for r in roots:
        with contextlib.suppress(ValueError):
            key = r.subject.public_bytes()
            index[key] = (*index.get(key, ()), r)
    if isinstance(roots, tuple):
        if len(_INDEXES) >= 8:
            _INDEXES.clear()
        _INDEXES[id(roots)] = (roots, index)
    return index


def _key_facts(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", None
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", None
    return type(key).__name__, None


def key_findings(
    path: TrustPath, min_rsa_bits: int, min_ec_bits: int, allowed: Collection[str]
) -> list[Finding]:
    """Keys too small or of an algorithm the policy does not allow, on every certificate."""
    out = []
    for cert in path.certs:  # the subject is written out only for a finding (it costs)
        try:
            kind, bits = _key_facts(cert)
        except (ValueError, UnsupportedAlgorithm):
            who = subject_of(cert)
            out.append(Finding(f"the public key of {who} cannot be read", who))
            continue
        if kind not in allowed:
            who = subject_of(cert)
            out.append(
                Finding(f"{who} has a {kind.upper()} key, which the policy does not allow", who)
            )
            continue
        least = min_ec_bits if kind == "ec" else min_rsa_bits if kind in ("rsa", "dsa") else None
        if least is not None and bits is not None and bits < least:
            who = subject_of(cert)
            out.append(
                Finding(
                    f"the {kind.upper()} key of {who} has {bits} bits; the policy asks for at "
                    f"least {least}",
                    who,
                )
            )
    return out


def signature_findings(path: TrustPath, weak: Collection[str]) -> list[Finding]:
    """Leaf and intermediates signed with a weak hash (roots and anchors are not judged)."""
    out = []
    for _, cert in path.judged():
        try:
            algo = cert.signature_hash_algorithm
        except UnsupportedAlgorithm:
            who = subject_of(cert)
            oid = cert.signature_algorithm_oid.dotted_string
            out.append(Finding(f"{who} is signed with an unknown algorithm ({oid})", who))
            continue
        if algo is not None and algo.name.lower() in weak:
            who = subject_of(cert)
            out.append(
                Finding(
                    f"{who} is signed with {algo.name.upper()}, which can be forged; have it "
                    "reissued with SHA-256 or better",
                    who,
                )
            )
    return out


def validity_findings(
    path: TrustPath, now: dt.datetime, min_days_left: int, max_lifetime_days: int
) -> list[tuple[str, Finding]]:
    """``(rule id, finding)`` for expired, not yet valid, expiring and (leaf) too long-lived."""
    out: list[tuple[str, Finding]] = []
    for n, cert in enumerate(path.certs):
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        lifetime = end - start + dt.timedelta(seconds=1)  # RFC 5280: both ends are included
        too_long = n == 0 and lifetime > max_lifetime_days * _DAY
        if start <= now <= end and end - now > min_days_left * _DAY and not too_long:
            continue  # nothing to say: the subject is not written out
        who = subject_of(cert)
        if end < now:
            out.append(("expired", Finding(f"{who} expired on {end:%Y-%m-%d %H:%M} UTC", who)))
        elif start > now:
            out.append(
                (
                    "not-yet-valid",
                    Finding(f"{who} is not valid before {start:%Y-%m-%d %H:%M} UTC", who),
                )
            )
        elif end - now <= min_days_left * _DAY:
            days = (end - now) // _DAY
            out.append(
                (
                    "expires-soon",
                    Finding(
                        f"{who} expires on {end:%Y-%m-%d} ({days} days left; the policy asks for "
                        f"more than {min_days_left})",
                        who,
                    ),
                )
            )
        if too_long:
            out.append(
                (
                    "lifetime-too-long",
                    Finding(
                        f"{who} is valid for {lifetime / _DAY:.0f} days ({start:%Y-%m-%d} to "
                        f"{end:%Y-%m-%d}); the policy allows at most {max_lifetime_days}",
                        who,
                    ),
                )
            )
    return out


def revocation_findings(path: TrustPath, revoked: Collection[RevokedEntry]) -> list[Finding]:
    """Certificates of the path that ``revoked`` lists (by issuer key or name, and serial)."""
    if not revoked:
        return []
    out = []
    for i, cert in path.judged():
        issuer = path.certs[i + 1] if i + 1 < len(path.certs) else None
        keys: list[RevokedEntry] = []
        with contextlib.suppress(ValueError):
            keys.append((cert.issuer.rfc4514_string(), cert.serial_number))
        if issuer is not None:
            keys.append((spki(issuer), cert.serial_number))
        if any(k in revoked for k in keys):
            who = subject_of(cert)
            out.append(
                Finding(
                    f"{who} (serial {cert.serial_number:#x}) is revoked by its issuer "
                    f"{escape(cert.issuer)}",
                    who,
                )
            )
    return out


def protocol_findings(offered: Sequence[str], floor: str) -> list[Finding]:
    """One finding when protocols below ``floor`` are offered."""
    below = [p for p in PROTOCOLS if p in offered and PROTOCOLS.index(p) < PROTOCOLS.index(floor)]
    if not below:
        return []
    return [Finding(f"the server still offers {', '.join(below)}; the policy's floor is {floor}")]
