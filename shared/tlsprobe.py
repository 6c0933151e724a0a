"""One async TLS probe: connect, optional STARTTLS, handshake, and report the served chain.

The probe trusts nothing and refuses nothing: it completes the handshake without verification
(so it sees self-signed, expired and wrong-name certificates), then judges trust and the host
name separately. Outcomes such as "refused" or "handshake failed" are data in :class:`ProbeResult`;
:func:`probe_or_raise` turns them into the :class:`~certmgr.shared.errors.ProbeError` family.

STARTTLS speaks just enough of SMTP, IMAP, POP3, FTP (``AUTH TLS``), LDAP (the StartTLS extended
operation) and PostgreSQL (``SSLRequest``) to reach the handshake; :data:`STARTTLS_PORTS` names
the usual port of each for discovery.

The TLS layer runs on :class:`ssl.MemoryBIO` over plain asyncio streams, so every byte the server
sends is counted (``max_chain_bytes``) and every network await sits under one deadline. The full
chain as sent comes from ``SSLObject.get_unverified_chain()`` (public from Python 3.13) or the
same method of the private ``_ssl`` object (CPython 3.10 to 3.12).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from cryptography import x509

from certmgr.shared._starttls import DIALOGUES
from certmgr.shared._tlsstep import ErrorKind, Reason, StepError
from certmgr.shared._tlswire import (
    Phase,
    WireState,
    check_sni,
    close_stream,
    hostport,
    run_steps,
    timeout_failure,
)
from certmgr.shared.errors import (
    ConnectTimeoutError,
    HandshakeError,
    PeerRefusedError,
    ProbeError,
    ResolveError,
    ValidationError,
)
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.tlstrust import name_matches, parse_ip, verify_chain

__all__ = [
    "DEFAULT_MAX_CHAIN_BYTES",
    "STARTTLS_PORTS",
    "STARTTLS_PROTOCOLS",
    "ErrorKind",
    "Phase",
    "ProbeResult",
    "Reason",
    "ServedChain",
    "probe",
    "probe_or_raise",
    "starttls_for_port",
]

DEFAULT_MAX_CHAIN_BYTES = 256 * 1024
STARTTLS_PROTOCOLS: tuple[str, ...] = tuple(DIALOGUES)
"""The ``starttls`` values :func:`probe` accepts: smtp, imap, pop3, ftp, ldap, postgres."""
STARTTLS_PORTS: Mapping[int, str] = MappingProxyType(
    {25: "smtp", 587: "smtp", 143: "imap", 110: "pop3", 21: "ftp", 389: "ldap", 5432: "postgres"}
)
"""The well-known port of each STARTTLS service (direct-TLS ports such as 465 are not here)."""
_RAISE: dict[str, type[ProbeError]] = {
    "resolve": ResolveError,
    "timeout": ConnectTimeoutError,
    "refused": PeerRefusedError,
    "reset": PeerRefusedError,
}


class ServedChain:
    """The served leaf of a result that holds ``chain`` (probe and discovery results alike)."""

    chain: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate | None:
        """The server's own certificate, when one was received."""
        return self.chain[0] if self.chain else None

    @property
    def leaf_sha256(self) -> str | None:
        """Lower-case hex SHA-256 of the served leaf."""
        return sha256_fingerprint(self.chain[0]) if self.chain else None


@dataclass(frozen=True)
class ProbeResult(ServedChain):
    """What one probe saw.

    ``reachable`` is True once a TCP connection was made (a failed handshake is a finding about a
    reachable server). ``chain`` is every certificate the server sent, in its order, leaf first.
    ``verified`` is None when no handshake happened or no trust roots were available.
    ``hostname_matches`` checks the leaf against ``sni`` (or ``host`` when no SNI was sent).
    On failure, ``phase`` says where it happened (``resolve``, ``connect``, ``starttls`` or
    ``handshake``) and ``error_reason``, when known, says why more finely than ``error_kind``:
    ``refused``/``unreachable`` (connect), ``not-protocol``, ``not-offered``, ``rejected`` or
    ``closed`` (STARTTLS), ``not-tls`` (the server answered, but not in TLS).
    """

    host: str
    port: int
    sni: str | None
    address: str | None
    reachable: bool
    chain: tuple[x509.Certificate, ...] = ()
    protocol: str | None = None
    cipher: str | None = None
    connect_ms: float | None = None
    handshake_ms: float | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    starttls: str | None = None
    starttls_ms: float | None = None
    phase: Phase | None = None
    error_reason: Reason | None = None
    verified: bool | None = None
    verify_error: str | None = None
    hostname_matches: bool = False

    @property
    def ok(self) -> bool:
        """True when the handshake completed (whatever the certificate's merits)."""
        return self.error is None


def _server_name(
    host: str,
    port: int,
    sni: str | None,
    timeout: float,
    starttls: str | None,
    family: int,
    max_chain_bytes: int,
    phase_timeouts: tuple[float | None, ...] = (),
) -> str | None:
    """Check the arguments; return the SNI to send (None: none)."""
    if starttls is not None and starttls not in DIALOGUES:
        raise ValidationError(
            f"unsupported STARTTLS protocol {starttls!r} (use one of {', '.join(DIALOGUES)})",
            field="starttls",
        )
    if family not in (0, socket.AF_INET, socket.AF_INET6):
        raise ValidationError("family must be AF_INET, AF_INET6 or 0", field="family")
    if not host.strip():
        raise ValidationError("the host is empty", field="host")
    if not 0 < port < 65536:
        raise ValidationError(f"port {port} is out of range", field="port")
    if timeout <= 0 or max_chain_bytes <= 0:
        raise ValidationError("timeout and max_chain_bytes must be positive", field="timeout")
    if any(t is not None and t <= 0 for t in phase_timeouts):
        raise ValidationError("phase timeouts must be positive", field="timeout")
    # sni="" means: send none; by default a name is sent for a DNS host, none for an IP.
    name = (sni or None) if sni is not None else (None if parse_ip(host) else host)
    if not check_sni(name):
        raise ValidationError(f"{name!r} cannot be sent as a TLS server name", field="sni")
    return name


async def probe(
    host: str,
    port: int,
    *,
    sni: str | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - the contract names it; applied with asyncio.timeout
    starttls: str | None = None,
    family: int = 0,
    max_chain_bytes: int = DEFAULT_MAX_CHAIN_BYTES,
    trust_roots: Sequence[x509.Certificate] | None = None,
    connect_timeout: float | None = None,
    handshake_timeout: float | None = None,
    connected: socket.socket | None = None,
) -> ProbeResult:
    """Connect to ``host:port``, complete a TLS handshake, and report what the server presented.

    Never hangs and never raises for what a server does: refusals, resets, silence, garbage and
    oversized chains all come back as a result with ``error`` and ``error_kind`` set, within about
    ``timeout`` seconds.

    Args:
        host: DNS name or IP address.
        port: TCP port.
        sni: Server name to send; default: ``host`` when it is a name, nothing for an IP address.
        timeout: Seconds for everything on the network (resolve, connect, STARTTLS, handshake).
        starttls: One of :data:`STARTTLS_PROTOCOLS` to upgrade a plain session first (``"smtp"``,
            ``"imap"``, ``"pop3"``, ``"ftp"``, ``"ldap"``, ``"postgres"``); None for direct TLS.
        family: ``socket.AF_INET``, ``socket.AF_INET6`` or 0 for either.
        max_chain_bytes: Give up (``too-large``) when the server sends more before finishing.
            OpenSSL itself refuses a single certificate message over 100 KiB (also ``too-large``).
        trust_roots: Anchors for ``verified``; None means the operating system's store.
        connect_timeout: A shorter deadline for the TCP connect alone (a scan's fast answer for
            filtered ports); None: only ``timeout``.
        handshake_timeout: A deadline for the STARTTLS dialogue and, apart, for the handshake;
            None: only ``timeout``.
        connected: A non-blocking socket already connected to ``host:port`` (a scan's
            connect-scan found the port open): the probe talks on it instead of connecting, and
            closes it. ``connect_ms`` is then None (the caller timed the connect).

    Returns:
        The probe result.

    Raises:
        ValidationError: An argument is out of range (unknown STARTTLS protocol, bad port...).
    """
    try:
        server_name = _server_name(
            host,
            port,
            sni,
            timeout,
            starttls,
            family,
            max_chain_bytes,
            (connect_timeout, handshake_timeout),
        )
    except ValidationError:
        if connected is not None:
            connected.close()
        raise
    state = WireState()
    failure: StepError | None = None
    completed = False
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            await run_steps(
                host,
                port,
                server_name,
                family,
                starttls,
                max_chain_bytes,
                state,
                connect_timeout=connect_timeout,
                handshake_timeout=handshake_timeout,
                connected=connected,
            )
        completed = True
    except StepError as err:
        failure = err
    except TimeoutError:
        failure = timeout_failure(state, host, port, timeout)
    except OSError as err:  # reset or broken pipe while talking
        failure = StepError(
            "reset", f"the connection was reset by the server ({err.strerror or err})", "closed"
        )
    finally:
        await close_stream(state.writer, graceful=completed)
    chain = state.chain if failure is None else ()
    verified: bool | None = None
    verify_error: str | None = None
    reference = server_name or host
    if chain and trust_roots is not None and not trust_roots:
        verified, verify_error = verify_chain(chain, trust_roots, reference)  # no anchors: no work
    elif chain:
        try:
            async with asyncio.timeout(max(timeout - (time.monotonic() - started), 1.0)):
                verified, verify_error = await asyncio.to_thread(
                    verify_chain, chain, trust_roots, reference
                )
        except TimeoutError:
            verify_error = "checking trust took too long"
    return ProbeResult(
        host=host,
        port=port,
        sni=server_name,
        address=state.address,
        reachable=state.reachable,
        chain=chain,
        protocol=state.protocol if failure is None else None,
        cipher=state.cipher if failure is None else None,
        connect_ms=state.connect_ms,
        handshake_ms=state.handshake_ms if failure is None else None,
        error=failure.message if failure else None,
        error_kind=failure.kind if failure else None,
        starttls=starttls,
        starttls_ms=state.starttls_ms,
        phase=state.phase if failure else None,
        error_reason=failure.reason if failure else None,
        verified=verified,
        verify_error=verify_error,
        hostname_matches=bool(chain) and name_matches(chain[0], reference),
    )


async def probe_or_raise(
    host: str,
    port: int,
    *,
    sni: str | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - same contract as probe()
    starttls: str | None = None,
    family: int = 0,
    max_chain_bytes: int = DEFAULT_MAX_CHAIN_BYTES,
    trust_roots: Sequence[x509.Certificate] | None = None,
    connect_timeout: float | None = None,
    handshake_timeout: float | None = None,
) -> ProbeResult:
    """Like :func:`probe` (same arguments), but a failed probe raises.

    Returns:
        The result of a completed handshake (its certificate may still be bad).

    Raises:
        ResolveError: The name does not resolve.
        ConnectTimeoutError: Connecting or handshaking took too long.
        PeerRefusedError: The connection was refused or reset.
        HandshakeError: Reached, but TLS (or STARTTLS) failed or the chain was too large.
        ValidationError: An argument is out of range.
    """
    result = await probe(
        host,
        port,
        sni=sni,
        timeout=timeout,
        starttls=starttls,
        family=family,
        max_chain_bytes=max_chain_bytes,
        trust_roots=trust_roots,
        connect_timeout=connect_timeout,
        handshake_timeout=handshake_timeout,
    )
    if result.error_kind is None:
        return result
    raise _RAISE.get(result.error_kind, HandshakeError)(f"{hostport(host, port)}: {result.error}")


def starttls_for_port(port: int) -> str | None:
    """The STARTTLS protocol usually spoken on ``port`` (None: direct TLS or unknown).

    Args:
        port: A TCP port.

    Returns:
        One of :data:`STARTTLS_PROTOCOLS`, or None.

    Raises:
        ValidationError: The port is out of range.
    """
    if not 0 < port < 65536:
        raise ValidationError(f"port {port} is out of range", field="port")
    return STARTTLS_PORTS.get(port)
