"""The wire side of :mod:`certmgr.shared.tlsprobe`: connect, STARTTLS, a MemoryBIO handshake.

Internal. Every step raises :class:`StepError` (kind, reason and a plain message) for what a
server does and records progress in :class:`WireState`, which the caller reads after its deadline
expires. STARTTLS dialogues (SMTP, IMAP, POP3, FTP, LDAP, PostgreSQL) are bounded in line length,
line count and answer size: a hostile server gets a ``starttls`` error, never a hang or a buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from cryptography import x509

from certmgr.shared._starttls import DIALOGUES, LABELS, LINE_LIMIT
from certmgr.shared._tlsstep import Reason, StepError

Phase = Literal["resolve", "connect", "starttls", "handshake"]
_T = TypeVar("_T")

_CHUNK = 65536
_ENCODING_DER = 2  # _ssl.ENCODING_DER
_PARSED_MAX = 2048
_PARSED_BYTES = 8192  # a larger certificate is parsed each time (the cache holds 16 MiB at most)
# Certificates seen, by their exact DER: a fleet serves the same few chains, and one object per
# distinct certificate lets its parsed extensions and every cache keyed by it be reused.
_PARSED: dict[bytes, x509.Certificate] = {}


class WireState:
    """What the probe learnt so far (read after a timeout cancels the steps)."""

    def __init__(self) -> None:
        self.phase: Phase = "resolve"
        self.starttls: str | None = None
        self.address: str | None = None
        self.reachable = False
        self.connect_ms: float | None = None
        self.starttls_ms: float | None = None
        self.handshake_ms: float | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.chain: tuple[x509.Certificate, ...] = ()
        self.protocol: str | None = None
        self.cipher: str | None = None


@functools.lru_cache(maxsize=4096)
def check_sni(name: str | None) -> bool:
    """True when ``name`` can be sent as SNI (or is None).

    Cached: the answer depends on the name alone, and asking OpenSSL builds a TLS object (a
    monitoring run asks once per check, mostly for the same few names).
    """
    try:
        _client_context().wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname=name)
    except (ValueError, UnicodeError, TypeError):  # TypeError: a NUL byte in the name
        return False
    return True


@functools.cache
def _client_context() -> ssl.SSLContext:
    # Built once and never changed afterwards: one context serves every probe (building it costs
    # about half a millisecond, as much as the rest of a loopback handshake's client work).
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # The probe must see every certificate, good or bad; trust is judged afterwards, apart.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # also reach old servers with weak keys, to report them
    return ctx


async def _connect(
    host: str, port: int, family: int, state: WireState, connected: socket.socket | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if connected is not None:  # the caller's connect-scan reached the port: use its connection
        state.phase, state.address = "connect", host.strip("[]")
        try:
            reader, writer = await asyncio.open_connection(sock=connected, limit=LINE_LIMIT)
        except BaseException:
            connected.close()
            raise
        state.writer, state.reachable = writer, True
        return reader, writer
    loop = asyncio.get_running_loop()
    try:
        infos = _literal(host.strip("[]"), port, family) or await loop.getaddrinfo(
            host.strip("[]"), port, family=family, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as err:
        raise StepError("resolve", f"the host name {host} does not resolve ({err})") from err
    errors: list[str] = []
    reason: Reason = "refused"
    for fam, _, _, _, sockaddr in dict.fromkeys(infos):
        state.phase, state.address = "connect", str(sockaddr[0])
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(
                state.address, port, family=fam, limit=LINE_LIMIT
            )
        except ConnectionRefusedError:
            errors.append(
                f"connection refused by {hostport(state.address, port)} (nothing is listening on that port?)"
            )
            continue
        except OSError as err:
            reason = "unreachable"
            errors.append(
                f"cannot connect to {hostport(state.address, port)}: {err.strerror or err}"
            )
            continue
        state.connect_ms = (time.perf_counter() - started) * 1000
        state.writer, state.reachable = writer, True
        return reader, writer
    raise StepError("refused", "; ".join(errors) or f"no address found for {host}", reason)


def _literal(host: str, port: int, family: int) -> list[Any]:
    """``getaddrinfo``'s answer for an IP address written out (no resolver thread needed)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return []
    fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    if family not in (socket.AF_UNSPEC, fam) or ip.version == 6 and "%" in host:
        return []  # a family mismatch or a scoped address: let the resolver answer
    sockaddr = (str(ip), port, 0, 0) if ip.version == 6 else (str(ip), port)
    return [(fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]


def hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _handshake_failure(err: ssl.SSLError, sni: str | None) -> StepError:
    reason = (err.reason or "").upper()
    if reason == "EXCESSIVE_MESSAGE_SIZE":
        return StepError(
            "too-large",
            "the server sent a certificate chain larger than the TLS library accepts (100 KiB)",
        )
    if reason in (
        "WRONG_VERSION_NUMBER",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
        "HTTP_REQUEST",
    ):
        return StepError(
            "handshake",
            "the server does not speak TLS on this port (is it plain HTTP or another protocol?)",
            "not-tls",
        )
    if "PROTOCOL_VERSION" in reason or reason == "UNSUPPORTED_PROTOCOL":
        return StepError("handshake", "the server and the probe share no TLS version")
    if "UNRECOGNIZED_NAME" in reason:
        return StepError("handshake", f"the server does not know the name {sni!r} (SNI)")
    if "HANDSHAKE_FAILURE" in reason or "NO_SHARED_CIPHER" in reason:
        return StepError(
            "handshake",
            "the server refused the handshake (no common cipher, or it wants something the probe does not send)",
        )
    if isinstance(err, ssl.SSLEOFError):
        return StepError("reset", "the server closed the connection during the TLS handshake")
    return StepError("handshake", f"the TLS handshake failed: {err.reason or err}")


def _served_der(obj: ssl.SSLObject) -> list[bytes]:
    public = getattr(obj, "get_unverified_chain", None)  # Python 3.13+: list of DER bytes
    if public is not None:
        return [bytes(c) for c in public() or ()]
    raw = getattr(obj, "_sslobj", None)  # CPython 3.10-3.12 have the method, but privately
    private = getattr(raw, "get_unverified_chain", None)
    if private is not None:
        return [c.public_bytes(_ENCODING_DER) for c in private() or ()]
    leaf = obj.getpeercert(binary_form=True)  # other runtimes: the leaf is all we can get
    return [leaf] if leaf else []


def _parsed(der: bytes) -> x509.Certificate:
    """The certificate of ``der``, parsed once per distinct encoding (bounded)."""
    cert = _PARSED.get(der)
    if cert is None:
        cert = x509.load_der_x509_certificate(der)
        if len(der) > _PARSED_BYTES:
            return cert
        if len(_PARSED) >= _PARSED_MAX:
            # the oldest entry; probes on event loops of other threads may evict at the same time
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                _PARSED.pop(next(iter(_PARSED)))
        _PARSED[der] = cert
    return cert


async def _tls(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    sni: str | None,
    max_bytes: int,
    state: WireState,
) -> None:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = _client_context().wrap_bio(incoming, outgoing, server_hostname=sni)
    received = 0
    started = time.perf_counter()
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as err:
            raise _handshake_failure(err, sni) from err
        if pending := outgoing.read():
            writer.write(pending)
            await writer.drain()
        chunk = await reader.read(_CHUNK)
        if not chunk:
            raise StepError("reset", "the server closed the connection during the TLS handshake")
        received += len(chunk)
        if received > max_bytes:
            raise StepError(
                "too-large",
                f"the server sent more than {max_bytes} bytes before finishing the handshake",
            )
        incoming.write(chunk)
    state.handshake_ms = (time.perf_counter() - started) * 1000
    state.protocol = obj.version()
    cipher = obj.cipher()
    state.cipher = cipher[0] if cipher else None
    chain: list[x509.Certificate] = []
    for n, der in enumerate(_served_der(obj), start=1):
        try:
            chain.append(_parsed(der))
        except (ValueError, x509.InvalidVersion) as err:
            raise StepError(
                "handshake", f"certificate {n} sent by the server cannot be read ({err})"
            ) from err
    state.chain = tuple(chain)
    with contextlib.suppress(ssl.SSLError):  # finish politely: last handshake flight, close_notify
        obj.unwrap()
    if pending := outgoing.read():
        writer.write(pending)
        await writer.drain()


async def _within(
    step: Awaitable[_T], seconds: float | None, state: WireState, host: str, port: int
) -> _T:
    """Await ``step`` under its own phase deadline (None: only the probe's overall one)."""
    if seconds is None:
        return await step
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await step
    except TimeoutError as err:
        if deadline.expired():
            raise timeout_failure(state, host, port, seconds) from err
        raise


async def run_steps(
    host: str,
    port: int,
    sni: str | None,
    family: int,
    starttls: str | None,
    max_bytes: int,
    state: WireState,
    *,
    connect_timeout: float | None = None,
    handshake_timeout: float | None = None,
    connected: socket.socket | None = None,
) -> None:
    reader, writer = await _within(
        _connect(host, port, family, state, connected), connect_timeout, state, host, port
    )
    if starttls is not None:
        state.phase, state.starttls = "starttls", starttls
        started = time.perf_counter()
        await _within(DIALOGUES[starttls](reader, writer), handshake_timeout, state, host, port)
        state.starttls_ms = (time.perf_counter() - started) * 1000
    state.phase = "handshake"
    await _within(_tls(reader, writer, sni, max_bytes, state), handshake_timeout, state, host, port)


def timeout_failure(state: WireState, host: str, port: int, timeout: float) -> StepError:
    where = hostport(state.address, port) if state.address else host
    label = LABELS.get(state.starttls or "", "STARTTLS")
    messages = {
        "resolve": f"resolving {host} took longer than {timeout:g} s",
        "connect": f"no answer from {where} within {timeout:g} s (connection timed out; firewall or host down?)",
        "starttls": f"{where} accepted the connection but did not finish the {label} STARTTLS dialogue within {timeout:g} s",
        "handshake": f"{where} accepted the connection but did not finish the TLS handshake within {timeout:g} s",
    }
    return StepError("timeout", messages[state.phase])


async def close_stream(writer: asyncio.StreamWriter | None, *, graceful: bool) -> None:
    if writer is None:
        return
    if not graceful:
        writer.transport.abort()
        return
    writer.close()
    try:
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        writer.transport.abort()
