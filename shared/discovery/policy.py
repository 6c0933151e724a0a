"""The trust policy: judge a served chain against the rules an organisation sets.

:class:`TrustPolicy` is a frozen value with sensible defaults that round-trips through a JSON
dict (:meth:`TrustPolicy.to_dict`, :meth:`TrustPolicy.from_dict`, strict: an unknown key or a
wrong type is an error naming the field). :func:`judge` returns one :class:`Violation` per rule a
chain breaks, each naming a stable :class:`Rule` id, a :class:`Severity` and a plain sentence;
:func:`verdict` folds them into ``ok``, ``warning`` or ``critical``.

Pure and synchronous CPU work (chain building, signature checks): run it in a thread from async
code. Nothing here reads files unless the policy trusts the system store and the caller passes
no ``system_roots`` (then :func:`~certmgr.shared.tlstrust.load_system_roots` reads them once per
call: pass them in when judging many chains).

Chains are built with :mod:`certmgr.shared.pki.chain` (:func:`~certmgr.shared.pki.chain.check_order`
for completeness and order, :func:`~certmgr.shared.pki.chain.build_chain` for the trust path),
so a chain is judged here exactly as the deploy check and ``certmgr check`` see it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from cryptography import x509

from certmgr.shared.discovery import _policyjson as pj
from certmgr.shared.discovery._policyrules import (
    Finding,
    RevokedEntry,
    TrustPath,
    issuers_among,
    key_findings,
    protocol_findings,
    revocation_findings,
    signature_findings,
    subject_of,
    trust_path,
    validity_findings,
)
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki.chain import check_order, is_ca
from certmgr.shared.tlstrust import load_system_roots, name_matches

__all__ = [
    "HASHES",
    "KEY_TYPES",
    "PROTOCOLS",
    "RevokedEntry",
    "Rule",
    "Severity",
    "TrustPolicy",
    "Verdict",
    "Violation",
    "judge",
    "revoked_from_crl",
    "verdict",
]

PROTOCOLS = pj.PROTOCOLS
"""Protocol names in ascending order, as :mod:`ssl` spells them (``TLSv1`` is TLS 1.0)."""
KEY_TYPES = pj.KEY_TYPES
"""Key algorithms a policy may allow."""
HASHES = pj.HASHES
"""Signature hashes a policy may refuse."""


class Rule(StrEnum):
    """The stable id of each rule (stored with findings, shown in reports, used in filters)."""

    UNTRUSTED = "untrusted"
    CHAIN_INCOMPLETE = "chain-incomplete"
    CHAIN_ORDER = "chain-order"
    NAME_MISMATCH = "name-mismatch"
    WEAK_KEY = "weak-key"
    WEAK_SIGNATURE = "weak-signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRES_SOON = "expires-soon"
    LIFETIME_TOO_LONG = "lifetime-too-long"
    REVOKED = "revoked"
    OLD_PROTOCOL = "old-protocol"


class Severity(StrEnum):
    """How bad a violation is: a warning is worth a look, critical breaks clients or trust."""

    WARNING = "warning"
    CRITICAL = "critical"


class Verdict(StrEnum):
    """The overall verdict on one chain (compares equal to its string value)."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


DEFAULT_SEVERITIES: Mapping[Rule, Severity] = MappingProxyType(
    {
        Rule.UNTRUSTED: Severity.CRITICAL,
        Rule.CHAIN_INCOMPLETE: Severity.CRITICAL,
        Rule.CHAIN_ORDER: Severity.WARNING,
        Rule.NAME_MISMATCH: Severity.CRITICAL,
        Rule.WEAK_KEY: Severity.CRITICAL,
        Rule.WEAK_SIGNATURE: Severity.CRITICAL,
        Rule.EXPIRED: Severity.CRITICAL,
        Rule.NOT_YET_VALID: Severity.CRITICAL,
        Rule.EXPIRES_SOON: Severity.WARNING,
        Rule.LIFETIME_TOO_LONG: Severity.WARNING,
        Rule.REVOKED: Severity.CRITICAL,
        Rule.OLD_PROTOCOL: Severity.WARNING,
    }
)


@dataclass(frozen=True)
class Violation:
    """One broken rule: which, how bad, why in plain words, and about which certificate.

    ``subject`` is the RFC 4514 subject of the certificate concerned (None for the endpoint as a
    whole, such as an old protocol).
    """

    rule: Rule
    severity: Severity
    message: str
    subject: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-safe dict."""
        return {
            "rule": str(self.rule),
            "severity": str(self.severity),
            "message": self.message,
            "subject": self.subject,
        }


@dataclass(frozen=True)
class TrustPolicy:
    """What a good certificate looks like; the defaults follow today's public web PKI.

    Attributes:
        trust_system_store: The operating system's roots are trust anchors (besides the private
            CA and the configured anchors passed to :func:`judge`).
        min_rsa_bits: Smallest RSA (and DSA) modulus allowed, on every certificate of the path.
        min_ec_bits: Smallest elliptic-curve size allowed (256: P-256).
        allowed_key_types: Key algorithms allowed: ``rsa``, ``ec``, ``ed25519``, ``ed448``, ``dsa``.
        weak_signature_hashes: Signature hashes refused on the leaf and intermediates (a root's
            own signature is never relied upon, so it is not judged).
        min_days_left: A certificate with this many days left or fewer is ``expires-soon``.
        max_lifetime_days: Longest validity of the leaf (398 today; 200, 100 and 47 are the
            coming CA/Browser Forum limits). Counted as RFC 5280 does, both ends included.
        min_protocol: The protocol floor, judged only when a deeper scan says which protocols a
            server offers; None: no floor.
        disabled_rules: Rules not judged at all.
        severities: Per rule, a severity other than the default one.
    """

    trust_system_store: bool = True
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    allowed_key_types: tuple[str, ...] = ("rsa", "ec", "ed25519", "ed448")
    weak_signature_hashes: tuple[str, ...] = ("md5", "sha1")
    min_days_left: int = 30
    max_lifetime_days: int = 398
    min_protocol: str | None = "TLSv1.2"
    disabled_rules: frozenset[Rule] = frozenset()
    severities: Mapping[Rule, Severity] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check every field (the same checks as :meth:`from_dict`).

        Raises:
            ValidationError: A field is out of range; ``field`` names it.
        """
        pj.check_fields(self)
        rules = frozenset(pj.as_enum(Rule, r, "disabled_rules") for r in self.disabled_rules)
        sev = {
            pj.as_enum(Rule, k, "severities"): pj.as_enum(Severity, v, f"severities.{k}")
            for k, v in self.severities.items()
        }
        object.__setattr__(self, "disabled_rules", rules)
        object.__setattr__(self, "severities", MappingProxyType(sev))

    def severity(self, rule: Rule) -> Severity:
        """The severity this policy gives ``rule``."""
        return self.severities.get(rule, DEFAULT_SEVERITIES[rule])

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (every field, lists sorted where order carries no meaning)."""
        return {
            "trust_system_store": self.trust_system_store,
            "min_rsa_bits": self.min_rsa_bits,
            "min_ec_bits": self.min_ec_bits,
            "allowed_key_types": list(self.allowed_key_types),
            "weak_signature_hashes": list(self.weak_signature_hashes),
            "min_days_left": self.min_days_left,
            "max_lifetime_days": self.max_lifetime_days,
            "min_protocol": self.min_protocol,
            "disabled_rules": sorted(str(r) for r in self.disabled_rules),
            "severities": {str(k): str(v) for k, v in sorted(self.severities.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrustPolicy:
        """Read the JSON form; a missing key keeps its default, an unknown one is refused.

        Args:
            data: A dict as :meth:`to_dict` writes it (or any subset of it).

        Returns:
            The policy.

        Raises:
            ValidationError: Not a dict, an unknown key, a wrong type or a value out of range;
                ``field`` names the offending key.
        """
        return cls(**pj.parse(data, rules=Rule, severities=Severity))


def _violation(policy: TrustPolicy, finding: Finding, rule: Rule, out: list[Violation]) -> None:
    if rule not in policy.disabled_rules:
        out.append(Violation(rule, policy.severity(rule), finding.message, finding.subject))


def judge(
    chain: Sequence[x509.Certificate],
    *,
    policy: TrustPolicy,
    host_name: str | None,
    anchors: Sequence[x509.Certificate],
    revoked: Collection[RevokedEntry],
    now: dt.datetime,
    protocols_offered: Collection[str] | None = None,
    system_roots: Sequence[x509.Certificate] | None = None,
    known_intermediates: Sequence[x509.Certificate] = (),
) -> list[Violation]:
    """Judge a served chain against ``policy``; an empty list means it passes.

    Args:
        chain: The certificates as the server sent them (leaf first, normally).
        policy: The rules.
        host_name: The name (or address) the endpoint was probed by; None: the name is not judged.
        anchors: The private CA and the configured anchors (trusted whatever the system store).
        revoked: What certmgr knows to be revoked: ``(issuer, serial)`` with the issuer as its
            SubjectPublicKeyInfo DER (``bytes``) or RFC 4514 name (``str``); see
            :func:`revoked_from_crl`.
        now: Aware time for the validity rules.
        protocols_offered: The protocols a deeper scan found offered (``TLSv1``, ``TLSv1.1``...);
            None: not scanned, so the protocol floor is not judged.
        system_roots: The system store's roots, when the caller has loaded them (recommended for
            many chains: a tuple, as :func:`~certmgr.shared.tlstrust.load_system_roots` returns,
            is indexed once); None loads them when the policy trusts the system store.
        known_intermediates: CA certificates known from elsewhere (the repository's chains):
            they complete the trust path of a chain that lacks them, so such a chain is judged
            ``chain-incomplete`` but not also ``untrusted``. They never make a chain complete.

    Returns:
        The violations, in rule order of the chain's life: trust, chain, name, keys, signatures,
        validity, revocation, protocol.

    Raises:
        ValidationError: No certificate, a naive ``now``, or an unknown protocol name.
    """
    if not chain:
        raise ValidationError("there is no certificate to judge", field="chain")
    if now.tzinfo is None:
        raise ValidationError("now must be timezone-aware", field="now")
    offered = None if protocols_offered is None else pj.check_protocols(protocols_offered)
    store: Sequence[x509.Certificate] = ()
    if policy.trust_system_store:
        store = load_system_roots() if system_roots is None else system_roots
    relevant = issuers_among((*chain, *known_intermediates), anchors, store)
    complete, ok, problems, path = _structure(
        tuple(chain), tuple(relevant), tuple(known_intermediates)
    )
    leaf = path.certs[0]
    out: list[Violation] = []
    _trust(policy, path, out)
    _chain(policy, complete, ok, problems, path.bad_signature is not None, out)
    if host_name is not None and not name_matches(leaf, host_name):
        _violation(
            policy,
            Finding(f"the certificate does not cover the name {host_name}", subject_of(leaf)),
            Rule.NAME_MISMATCH,
            out,
        )
    for rule, findings in (
        (
            Rule.WEAK_KEY,
            key_findings(path, policy.min_rsa_bits, policy.min_ec_bits, policy.allowed_key_types),
        ),
        (Rule.WEAK_SIGNATURE, signature_findings(path, policy.weak_signature_hashes)),
    ):
        for f in findings:
            _violation(policy, f, rule, out)
    for kind, f in validity_findings(path, now, policy.min_days_left, policy.max_lifetime_days):
        _violation(policy, f, Rule(kind), out)
    for f in revocation_findings(path, revoked):
        _violation(policy, f, Rule.REVOKED, out)
    if offered is not None and policy.min_protocol is not None:
        for f in protocol_findings(offered, policy.min_protocol):
            _violation(policy, f, Rule.OLD_PROTOCOL, out)
    return out


@functools.lru_cache(maxsize=1024)
def _structure(
    chain: tuple[x509.Certificate, ...],
    relevant: tuple[x509.Certificate, ...],
    known: tuple[x509.Certificate, ...],
) -> tuple[bool, bool, tuple[str, ...], TrustPath]:
    # A pure function of the certificates: the servers of a fleet, and every scan of the same
    # day, send the same chains, so order and trust path are worked out once per chain (as the
    # deploy check does); the time- and name-dependent rules run on every call.
    order = check_order(chain, trusted=relevant)
    path = trust_path(order.leaf or chain[0], chain, relevant, known)
    return order.complete, order.ok, order.problems, path


def _trust(policy: TrustPolicy, path: TrustPath, out: list[Violation]) -> None:
    if path.trusted:
        return
    top = path.certs[-1]
    where = (
        "the system store, the private CA or the configured anchors"
        if policy.trust_system_store
        else "the private CA or the configured anchors (the system store is not trusted)"
    )
    if path.bad_signature is not None:
        why = f"the signature of {path.bad_signature} does not verify with its issuer's key"
    elif top.issuer == top.subject:
        why = f"it ends at the root {subject_of(top)}, which is not in {where}"
    elif len(path.certs) == 1 or is_ca(top):
        why = f"its issuer {pj.escape(top.issuer)} is not in {where}"
    else:
        why = f"the issuer {pj.escape(top.issuer)} of {subject_of(top)} is neither served nor known"
    _violation(
        policy,
        Finding(f"the chain is not trusted: {why}", subject_of(path.certs[0])),
        Rule.UNTRUSTED,
        out,
    )


def _chain(
    policy: TrustPolicy,
    complete: bool,
    ok: bool,
    problems: Sequence[str],
    bad_signature: bool,
    out: list[Violation],
) -> None:
    # check_order's sentences: the first ones name a missing issuer or a bad signature (judged as
    # trust above), the rest are order, unrelated and repeated certificates.
    for text in problems:
        if text.startswith("signature does not verify") and bad_signature:
            continue
        if text.startswith("the issuer ") and not complete:
            _violation(
                policy, Finding(f"the chain is incomplete: {text}"), Rule.CHAIN_INCOMPLETE, out
            )
        elif not ok:
            _violation(
                policy, Finding(f"the chain is not served correctly: {text}"), Rule.CHAIN_ORDER, out
            )


def revoked_from_crl(
    crl: x509.CertificateRevocationList, issuer: x509.Certificate
) -> frozenset[RevokedEntry]:
    """The revoked serials of a CRL, keyed by its issuer's public key, for :func:`judge`.

    Args:
        crl: A CRL (certmgr's own CA's, or any the organisation trusts).
        issuer: The CA certificate that signed it.

    Returns:
        ``(issuer SubjectPublicKeyInfo DER, serial)`` for every revoked certificate.

    Raises:
        ValidationError: The CRL is not signed by ``issuer``.
    """
    key = pj.spki(issuer)
    try:
        good = crl.issuer == issuer.subject and crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        good = False
    if not good:
        raise ValidationError(f"the CRL is not signed by {subject_of(issuer)}", field="crl")
    return frozenset((key, r.serial_number) for r in crl)


def verdict(violations: Iterable[Violation]) -> Verdict:
    """``critical`` when any violation is critical, ``warning`` when there are others, else ``ok``."""
    worst = Verdict.OK
    for v in violations:
        if v.severity is Severity.CRITICAL:
            return Verdict.CRITICAL
        worst = Verdict.WARNING
    return worst
