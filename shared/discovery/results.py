"""What a discovery scan gives: one :class:`EndpointResult` per endpoint, with its :class:`Outcome`."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from enum import StrEnum

from cryptography import x509

from certmgr.shared.errors import ValidationError
from certmgr.shared.tlsprobe import ProbeResult, ServedChain


class Outcome(StrEnum):
    """What one endpoint gave."""

    TLS = "tls"  # a handshake completed: the chain is in the result
    CLOSED = "closed"  # connection refused
    FILTERED = "filtered"  # no answer to the connect within the connect deadline, or unreachable
    NO_TLS = "no-tls"  # something answered, but neither TLS nor the expected STARTTLS protocol
    STARTTLS_REFUSED = "starttls-refused"  # the protocol was spoken, TLS was not offered or refused
    TIMEOUT = "timeout"  # connected, then the dialogue or handshake stalled
    TOO_LARGE = "too-large"  # the server sent more than the byte cap before finishing
    ERROR = "error"  # anything else (reset, handshake failure...): see the message
    OUT_OF_SCOPE = "out-of-scope"  # never contacted
    UNRESOLVED = "unresolved"  # the name did not resolve


@dataclass(frozen=True)
class Timeouts:
    """Deadlines per phase, in seconds.

    ``handshake`` applies to a STARTTLS dialogue and, apart, to the TLS handshake.
    """

    resolve: float = 5.0
    connect: float = 1.5
    handshake: float = 5.0

    def __post_init__(self) -> None:
        if min(self.resolve, self.connect, self.handshake) <= 0:
            raise ValidationError("every timeout must be positive", field="timeouts")


@dataclass(frozen=True)
class EndpointResult(ServedChain):
    """One endpoint's result.

    ``port`` is None when a whole item or address was out of scope or did not resolve (it stands
    for every port); ``address`` is None when nothing was resolved.
    """

    target: str
    address: str | None
    port: int | None
    sni: str | None
    starttls: str | None
    outcome: Outcome
    message: str | None = None
    chain: tuple[x509.Certificate, ...] = ()
    protocol: str | None = None
    cipher: str | None = None
    connect_ms: float | None = None
    starttls_ms: float | None = None
    handshake_ms: float | None = None
    total_ms: float | None = None


_UNSET = {f.name: f.default for f in fields(EndpointResult) if f.default is not MISSING}


def port_result(
    address: str, port: int, starttls: str | None, outcome: Outcome, message: str, ms: float
) -> EndpointResult:
    """``EndpointResult(address, address, port, None, starttls, outcome, message, total_ms=ms)``.

    Made without the constructor: a frozen dataclass sets each of its 15 fields through
    ``object.__setattr__``, which costs more than the connect of a closed port. Same fields,
    same object (a test compares them).
    """
    result = object.__new__(EndpointResult)
    result.__dict__.update(
        _UNSET,
        target=address,
        address=address,
        port=port,
        sni=None,
        starttls=starttls,
        outcome=outcome,
        message=message,
        total_ms=ms,
    )
    return result


def outcome_of(r: ProbeResult) -> Outcome:
    """The outcome a probe result stands for."""
    kind, reason = r.error_kind, r.error_reason
    if kind is None:
        return Outcome.TLS
    if kind == "refused":
        return Outcome.FILTERED if reason == "unreachable" else Outcome.CLOSED
    if kind == "timeout":
        return Outcome.FILTERED if r.phase == "connect" else Outcome.TIMEOUT
    if kind == "too-large":
        return Outcome.TOO_LARGE
    if kind == "starttls" and reason in ("not-offered", "rejected"):
        return Outcome.STARTTLS_REFUSED
    if reason in ("not-protocol", "not-tls"):
        return Outcome.NO_TLS
    return Outcome.ERROR
