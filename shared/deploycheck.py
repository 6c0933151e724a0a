"""The deploy-check verdict: does a probed server serve the current certificate, correctly chained?

:func:`evaluate` turns a :class:`~certmgr.shared.tlsprobe.ProbeResult` into a
:class:`CheckOutcome` with plain-language ``problems``; ``ok`` is True exactly when there are none.
Used by the deployment check, monitoring and ``certmgr check``; outcomes are stored as JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from certmgr.shared.errors import ValidationError
from certmgr.shared.pki.chain import build_chain, is_ca, is_self_signed
from certmgr.shared.pki.fingerprint import cert_der, normalize_fingerprint, sha256_fingerprint
from certmgr.shared.tlsprobe import ProbeResult

__all__ = ["VERDICTS", "CheckOutcome", "evaluate", "failed_outcome", "outcome_name"]

VERDICTS = (
    "matches_current",
    "chain_complete",
    "chain_in_order",
    "hostname_matches",
    "missing_intermediates",
    "extra_certs",
)
"""What a check says about a served certificate; none of it exists when nothing was served."""


def outcome_name(*, ok: bool, reachable: bool, served: bool = True) -> str:
    """The one name of a check's outcome on every screen, mail and CLI: ok, failed or unreachable.

    A check that never connected is ``unreachable`` and nothing else; one that connected but got
    no certificate (TLS failed) or found problems is ``failed``.
    """
    if not reachable:
        return "unreachable"
    return "ok" if ok and served else "failed"


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict on one probe.

    ``missing_intermediates`` and ``extra_certs`` hold subjects (RFC 4514 text). ``days_left``
    is None when no certificate was served. ``verified``/``verify_error`` report trust against
    the probe's roots for information only; they do not affect ``ok`` (a private CA is fine).
    ``warnings`` are worth a look but do not fail the check (fingerprint first: a served
    certificate that is the current one passes even when the name probed is not in it).
    """

    ok: bool
    reachable: bool
    served_sha256: str | None
    matches_current: bool
    chain_complete: bool
    chain_in_order: bool
    missing_intermediates: list[str]
    extra_certs: list[str]
    days_left: int | None
    hostname_matches: bool
    protocol: str | None
    cipher: str | None
    problems: list[str]
    error_kind: str | None = None
    verified: bool | None = None
    verify_error: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def judged(self) -> bool:
        """True when a certificate was served, so there are verdicts on it (fingerprint, chain, name)."""
        return self.reachable and bool(self.served_sha256)

    @property
    def outcome(self) -> str:
        """``ok``, ``failed`` or ``unreachable`` (:func:`outcome_name`)."""
        return outcome_name(ok=self.ok, reachable=self.reachable, served=bool(self.served_sha256))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (lists and scalars only; lists are copies).

        When nothing was served, the verdicts on a served certificate are ``None`` (not judged),
        never ``false``; ``outcome`` names the result.
        """
        # flat fields only, so no dataclasses.asdict deep copy (it costs as much as a chain check)
        out: dict[str, Any] = {
            name: list(v) if isinstance(v := getattr(self, name), list) else v
            for name in _FIELD_NAMES
        }
        if not self.judged:
            out.update(dict.fromkeys(VERDICTS))
        out["outcome"] = self.outcome
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckOutcome:
        """Rebuild an outcome stored with :meth:`to_dict` (unknown keys are ignored).

        Raises:
            ValidationError: A field is missing or has the wrong type.
        """
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise ValidationError(f"stored check outcome lacks {f.name!r}", field=f.name)
                continue
            value = data[f.name]
            if value is None and f.name in VERDICTS:  # not judged: nothing was served
                value = [] if f.name in _STR_LIST else False
            values[f.name] = _checked(f.name, value)
        return cls(**values)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(CheckOutcome))
"""The outcome's fields in order (``dataclasses.fields`` costs as much as the copy itself)."""
_BOOL = (
    "ok",
    "reachable",
    "matches_current",
    "chain_complete",
    "chain_in_order",
    "hostname_matches",
)
_STR_LIST = ("missing_intermediates", "extra_certs", "problems", "warnings")


def _checked(name: str, value: Any) -> Any:
    if name in _STR_LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError(f"{name} must be a list of strings", field=name)
        return list(value)
    if name in _BOOL:
        good = isinstance(value, bool)
    elif name == "verified":
        good = value is None or isinstance(value, bool)
    elif name == "days_left":
        good = value is None or (isinstance(value, int) and not isinstance(value, bool))
    else:
        good = value is None or isinstance(value, str)
    if not good:
        raise ValidationError(f"{name} has the wrong type ({type(value).__name__})", field=name)
    return value


def _subject(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except ValueError:
        return "<unreadable subject>"


def _chain_findings(
    served: Sequence[x509.Certificate],
    expected_chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
) -> tuple[list[str], list[str], bool, list[str]]:
    """Missing intermediates, extra certificates, in-order flag and problems for a served list."""
    missing, extra, ok, problems = _chain_findings_of(
        tuple(served), tuple(expected_chain), tuple(anchors)
    )
    return list(missing), list(extra), ok, list(problems)


@functools.lru_cache(maxsize=1024)
def _chain_findings_of(
    served: tuple[x509.Certificate, ...],
    expected: tuple[x509.Certificate, ...],
    anchors: tuple[x509.Certificate, ...],
) -> tuple[tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]:
    # A pure function of the certificates (equal and hashed by content, so the key costs less
    # than DER-encoding them): the servers of a pool, and every run of the same day, send the
    # same chain, so it is worked out once (the name and extension parsing it needs costs more
    # client CPU than the TLS handshake itself).
    missing, extra, ok, problems = _analyse_chain(served, expected, anchors)
    return tuple(missing), tuple(extra), ok, tuple(problems)


def _analyse_chain(
    served: Sequence[x509.Certificate],
    expected_chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate] = (),
) -> tuple[list[str], list[str], bool, list[str]]:
    leaf = served[0]
    # The path is built from what the server sends first, so an equivalent served intermediate
    # (renewed or cross-signed) is never reported as extra just because the repository holds another.
    own = build_chain(leaf, served[1:], trusted=anchors)
    path = [leaf, *own.chain]
    missing: list[str] = []
    if not own.complete:
        top = path[-1]
        # A root is never expected to be served: reaching one (self-signed, from the repository's
        # chain or from the anchors such as the private CA or --ca-file) completes the chain.
        more = build_chain(top, expected_chain, trusted=anchors)
        missing = [_subject(c) for c in more.chain if not is_self_signed(c)]
        if not more.chain and not is_ca(top):
            missing.append(more.missing_issuer or top.issuer.rfc4514_string())
    on_path = [cert_der(c) for c in path]
    served_der = [cert_der(c) for c in served]
    unique = list(dict.fromkeys(served_der))
    extra = [_subject(c) for c, d in zip(served, served_der, strict=True) if d not in on_path]
    extra = list(dict.fromkeys(extra))
    sent_on_path = [d for d in unique if d in on_path]
    order_ok = sent_on_path == [d for d in on_path if d in sent_on_path]
    duplicates = len(served_der) - len(unique)
    problems = [f"intermediate {name} is not served" for name in missing]
    if extra:
        problems.append(
            f"the server sends certificates that do not belong to the chain: {'; '.join(extra)}"
        )
    if not order_ok:
        order = ", ".join(_subject(c) for c in served)
        problems.append(
            f"chain is out of order (each certificate must be followed by its issuer); served: {order}"
        )
    if duplicates:
        problems.append(f"the server sends {duplicates} certificate(s) more than once")
    return missing, extra, order_ok and not extra and not duplicates, problems


def _served_intermediates_out_of_date(
    served: Sequence[x509.Certificate], extra: Sequence[str], now: dt.datetime
) -> list[str]:
    """Warnings for served intermediates that are expired or not yet valid.

    A client that cannot build another path rejects a chain through such an intermediate even
    when the leaf is fine. It stays a warning: an expired cross-signed copy of a root that
    clients hold anyway (AddTrust in 2020, DST Root CA X3 until 2024) was served by many sites
    that every current client accepted, and the system trust store is not known here (the trust
    verdict judges the path). Served roots (clients ignore them) and certificates already
    reported as not belonging to the chain are left out; the date test comes first.
    """
    problems: list[str] = []
    seen: set[str] = set()
    for cert in served[1:]:
        if cert.not_valid_after_utc <= now:
            when = f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        elif cert.not_valid_before_utc > now:
            when = f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        else:
            continue
        name = _subject(cert)
        if name in seen or name in extra or is_self_signed(cert):
            continue
        seen.add(name)
        problems.append(
            f"intermediate {name} {when}: clients that cannot build another path reject the chain"
        )
    return problems


def failed_outcome(
    problem: str,
    *,
    reachable: bool = False,
    kind: str | None = "timeout",
    protocol: str | None = None,
    cipher: str | None = None,
    verified: bool | None = None,
    verify_error: str | None = None,
) -> CheckOutcome:
    """The outcome of a check that found no certificate to judge (or could not run to the end)."""
    return CheckOutcome(
        ok=False,
        reachable=reachable,
        served_sha256=None,
        matches_current=False,
        chain_complete=False,
        chain_in_order=False,
        missing_intermediates=[],
        extra_certs=[],
        days_left=None,
        hostname_matches=False,
        protocol=protocol,
        cipher=cipher,
        problems=[problem],
        error_kind=kind,
        verified=verified,
        verify_error=verify_error,
    )


def _unreachable(result: ProbeResult) -> CheckOutcome:
    if not result.reachable:
        problem = f"host unreachable: {result.error}"
    elif result.error:
        problem = f"the server was reached but TLS failed: {result.error}"
    else:
        problem = "the server sent no certificate"
    return failed_outcome(
        problem,
        reachable=result.reachable,
        kind=result.error_kind,
        protocol=result.protocol,
        cipher=result.cipher,
        verified=result.verified,
        verify_error=result.verify_error,
    )


def evaluate(
    result: ProbeResult,
    expected_sha256: str | None,
    expected_chain: Sequence[x509.Certificate] = (),
    *,
    now: dt.datetime,
    anchors: Sequence[x509.Certificate] = (),
    fingerprint_only: bool = False,
) -> CheckOutcome:
    """Compare what a server served with the current certificate and its chain.

    "Chain complete" means the server sends every intermediate from its leaf up to (not
    necessarily including) a root; ``expected_chain`` (the repository's chain, issuer first)
    names the intermediates that are needed beyond those the server already sends (without it,
    a leaf sent alone counts as incomplete unless self-signed, since its issuer's role is
    unknown, unless ``anchors`` holds its issuer; a served intermediate whose issuer is not known
    is taken to hang off a root). A root is never expected to be served.

    Fingerprint first: the served certificate being the current one is the verdict. A name the
    probe sent (SNI) that the certificate does not cover is a warning, not a problem, unless
    ``expected_sha256`` is None (nothing expected): then the name is the only identity check
    and a certificate that does not cover it (a default certificate served for an unknown SNI)
    is a problem. With
    ``fingerprint_only`` (appliances that serve what they serve), chain, validity and name
    findings are warnings too.

    Args:
        result: The probe.
        expected_sha256: SHA-256 of the current certificate (hex, colons allowed); None when
            nothing is expected (``matches_current`` is then True).
        expected_chain: The current certificate's issuers as the repository holds them.
        now: Aware time used for ``days_left``.
        anchors: Trust anchors (the private CA, ``--ca-file``) that complete a chain when reached.
        fingerprint_only: Judge by the fingerprint alone; everything else becomes a warning.

    Returns:
        The outcome; ``ok`` is True exactly when ``problems`` is empty.

    Raises:
        ValidationError: ``now`` is naive or ``expected_sha256`` is not a SHA-256.
    """
    if now.tzinfo is None:
        raise ValidationError("now must be timezone-aware", field="now")
    expected = None if expected_sha256 is None else normalize_fingerprint(expected_sha256)
    if expected is not None and len(expected) != 64:  # an empty one too: a caller's bug
        raise ValidationError(
            "expected_sha256 is not a SHA-256 fingerprint", field="expected_sha256"
        )
    if not result.chain or result.error:
        return _unreachable(result)
    leaf = result.chain[0]
    served_sha = sha256_fingerprint(leaf)
    # Nothing expected (a manual ``certmgr check HOST`` without ``--expect``): the name is then
    # the only thing that says the certificate is the right one.
    judged_by_name = expected is None
    expected = served_sha if expected is None else expected
    problems: list[str] = []
    if served_sha != expected:
        problems.append(
            f"served certificate is not the current one (served SHA-256 {served_sha[:12]}…, expected {expected[:12]}…)"
        )
    warnings: list[str] = []
    # what fails the check normally, and only warns in fingerprint-only mode
    secondary = warnings if fingerprint_only else problems
    missing, extra, in_order, chain_problems = _chain_findings(
        result.chain, expected_chain, anchors
    )
    secondary += chain_problems
    days_left = math.floor((leaf.not_valid_after_utc - now).total_seconds() / 86400)
    if leaf.not_valid_after_utc <= now:
        secondary.append(
            f"the served certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    elif leaf.not_valid_before_utc > now:
        secondary.append(
            f"the served certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    warnings += _served_intermediates_out_of_date(result.chain, extra, now)
    if result.sni is not None and not result.hostname_matches:
        (secondary if judged_by_name else warnings).append(
            f"the served certificate does not cover the name {result.sni}"
        )
    return CheckOutcome(
        ok=not problems,
        reachable=True,
        served_sha256=served_sha,
        matches_current=served_sha == expected,
        chain_complete=not missing,
        chain_in_order=in_order,
        missing_intermediates=missing,
        extra_certs=extra,
        days_left=days_left,
        hostname_matches=result.hostname_matches,
        protocol=result.protocol,
        cipher=result.cipher,
        problems=problems,
        error_kind=None,
        verified=result.verified,
        verify_error=result.verify_error,
        warnings=warnings,
    )
