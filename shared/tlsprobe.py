"""One async TLS probe: connect, optional SMTP STARTTLS, handshake, and report the served chain.

The probe trusts nothing and refuses nothing: it completes the handshake without verification
(so it sees self-signed, expired and wrong-name certificates), then judges trust and the host
name separately. Outcomes such as "refused" or "handshake failed" are data in :class:`ProbeResult`;
:func:`probe_or_raise` turns them into the :class:`~certmgr.shared.errors.ProbeError` family.

The TLS layer runs on :class:`ssl.MemoryBIO` over plain asyncio streams, so every byte the server
sends is counted (``max_chain_bytes``) and every network await sits under one deadline. The full
chain as sent comes from ``SSLObject.get_unverified_chain()`` (public from Python 3.13) or the
same method of the private ``_ssl`` object (CPython 3.10 to 3.12).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from certmgr.shared._tlswire import (
    ErrorKind,
    StepError,
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

__all__ = ["DEFAULT_MAX_CHAIN_BYTES", "ErrorKind", "ProbeResult", "probe", "probe_or_raise"]

DEFAULT_MAX_CHAIN_BYTES = 256 * 1024
_RAISE: dict[str, type[ProbeError]] = {
    "resolve": ResolveError,
    "timeout": ConnectTimeoutError,
    "refused": PeerRefusedError,
    "reset": PeerRefusedError,
}


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw.

    ``reachable`` is True once a TCP connection was made (a failed handshake is a finding about a
    reachable server). ``chain`` is every certificate the server sent, in its order, leaf first.
    ``verified`` is None when no handshake happened or no trust roots were available.
    ``hostname_matches`` checks the leaf against ``sni`` (or ``host`` when no SNI was sent).
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
    verified: bool | None = None
    verify_error: str | None = None
    hostname_matches: bool = False

    @property
    def ok(self) -> bool:
        """True when the handshake completed (whatever the certificate's merits)."""
        return self.error is None

    @property
    def leaf(self) -> x509.Certificate | None:
        """The server's own certificate, when one was received."""
        return self.chain[0] if self.chain else None

    @property
    def leaf_sha256(self) -> str | None:
        """Lower-case hex SHA-256 of the served leaf."""
        return sha256_fingerprint(self.chain[0]) if self.chain else None


def _server_name(
    host: str,
    port: int,
    sni: str | None,
    timeout: float,
    starttls: str | None,
    family: int,
    max_chain_bytes: int,
) -> str | None:
    """Check the arguments; return the SNI to send (None: none)."""
    if starttls not in (None, "smtp"):
        raise ValidationError(
            f"unsupported STARTTLS protocol {starttls!r} (use smtp)", field="starttls"
        )
    if family not in (0, socket.AF_INET, socket.AF_INET6):
        raise ValidationError("family must be AF_INET, AF_INET6 or 0", field="family")
    if not host.strip():
        raise ValidationError("the host is empty", field="host")
    if not 0 < port < 65536:
        raise ValidationError(f"port {port} is out of range", field="port")
    if timeout <= 0 or max_chain_bytes <= 0:
        raise ValidationError("timeout and max_chain_bytes must be positive", field="timeout")
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
        starttls: ``"smtp"`` to upgrade a plain SMTP session first; None for direct TLS.
        family: ``socket.AF_INET``, ``socket.AF_INET6`` or 0 for either.
        max_chain_bytes: Give up (``too-large``) when the server sends more before finishing.
            OpenSSL itself refuses a single certificate message over 100 KiB (also ``too-large``).
        trust_roots: Anchors for ``verified``; None means the operating system's store.

    Returns:
        The probe result.

    Raises:
        ValidationError: An argument is out of range (unknown STARTTLS protocol, bad port...).
    """
    server_name = _server_name(host, port, sni, timeout, starttls, family, max_chain_bytes)
    state = WireState()
    failure: StepError | None = None
    completed = False
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            await run_steps(host, port, server_name, family, starttls, max_chain_bytes, state)
        completed = True
    except StepError as err:
        failure = err
    except TimeoutError:
        failure = timeout_failure(state, host, port, timeout)
    except OSError as err:  # reset or broken pipe while talking
        failure = StepError(
            "reset", f"the connection was reset by the server ({err.strerror or err})"
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
    )
    if result.error_kind is None:
        return result
    raise _RAISE.get(result.error_kind, HandshakeError)(f"{hostport(host, port)}: {result.error}")
