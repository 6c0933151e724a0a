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
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from cryptography import x509

ErrorKind = Literal["resolve", "timeout", "refused", "reset", "handshake", "starttls", "too-large"]
# Finer than the kind, for callers that sort outcomes (discovery: closed versus filtered...):
# refused/unreachable (connect), not-protocol/not-offered/rejected/closed (STARTTLS), not-tls.
Reason = Literal[
    "refused", "unreachable", "not-protocol", "not-offered", "rejected", "closed", "not-tls"
]
Phase = Literal["resolve", "connect", "starttls", "handshake"]
_T = TypeVar("_T")

_CHUNK = 65536
_MAX_LINES = 100  # per reply of a STARTTLS dialogue (capability lists are a few dozen lines)
_LINE_LIMIT = 16384  # protocol lines are short; also caps what one readline buffers
_BER_LIMIT = 16384  # an LDAP ExtendedResponse is a few dozen bytes
_ENCODING_DER = 2  # _ssl.ENCODING_DER
LABELS = {
    "smtp": "SMTP",
    "imap": "IMAP",
    "pop3": "POP3",
    "ftp": "FTP",
    "ldap": "LDAP",
    "postgres": "PostgreSQL",
}


class StepError(Exception):
    def __init__(self, kind: ErrorKind, message: str, reason: Reason | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.reason: Reason | None = reason


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


def check_sni(name: str | None) -> bool:
    """True when ``name`` can be sent as SNI (or is None)."""
    try:
        _client_context().wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname=name)
    except (ValueError, UnicodeError):
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
    host: str, port: int, family: int, state: WireState
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
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
                state.address, port, family=fam, limit=_LINE_LIMIT
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


def _not_protocol(proto: str, line: str) -> StepError:
    return StepError(
        "starttls",
        f"the server does not speak {LABELS[proto]} (it sent {line[:60]!r})",
        "not-protocol",
    )


def _refused(proto: str, what: str, answer: str) -> StepError:
    return StepError(
        "starttls", f"the {LABELS[proto]} server refused {what}: {answer[:100]}", "rejected"
    )


def _not_offered(proto: str, what: str = "STARTTLS") -> StepError:
    return StepError("starttls", f"the {LABELS[proto]} server does not offer {what}", "not-offered")


async def _line(reader: asyncio.StreamReader, proto: str) -> str:
    try:
        raw = await reader.readline()
    except ValueError as err:  # a line longer than the stream limit
        raise StepError(
            "starttls", f"the server does not speak {LABELS[proto]} (endless line)", "not-protocol"
        ) from err
    if not raw:
        raise StepError(
            "starttls",
            f"the server closed the connection during the {LABELS[proto]} dialogue",
            "closed",
        )
    return raw.decode("latin-1").rstrip("\r\n")


async def _send(writer: asyncio.StreamWriter, line: bytes) -> None:
    writer.write(line)
    await writer.drain()


async def _coded_reply(reader: asyncio.StreamReader, proto: str) -> tuple[int, list[str]]:
    """An SMTP or FTP reply: ``250-...`` lines up to ``250 ...`` (FTP may put anything between)."""
    first = await _line(reader, proto)
    if len(first) < 3 or not first[:3].isdigit() or first[3:4] not in ("", " ", "-"):
        raise _not_protocol(proto, first)
    code, lines, line = first[:3], [first[4:]], first
    for _ in range(_MAX_LINES):
        if line[3:4] != "-" and line[:3] == code:
            return int(code), lines
        line = await _line(reader, proto)
        if proto == "smtp" and (line[:3] != code or line[3:4] not in ("", " ", "-")):
            raise _not_protocol(proto, line)
        lines.append(line[4:] if line[:3] == code else line)
    raise StepError("starttls", f"the {LABELS[proto]} server sent an endless reply", "not-protocol")


async def _smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    code, text = await _coded_reply(reader, "smtp")
    if code != 220:
        raise StepError(
            "starttls",
            f"the SMTP server did not greet with 220 but {code} {' '.join(text)[:80]}",
            "rejected",
        )
    local = str(writer.get_extra_info("sockname")[0])
    literal = f"[IPv6:{local}]" if ":" in local else f"[{local}]"
    await _send(writer, f"EHLO {literal}\r\n".encode())
    code, text = await _coded_reply(reader, "smtp")
    if code != 250:
        raise _refused("smtp", "EHLO", f"{code} {' '.join(text)}")
    if not any(line.upper().split(" ", 1)[0] == "STARTTLS" for line in text[1:]):
        raise _not_offered("smtp")
    await _send(writer, b"STARTTLS\r\n")
    code, text = await _coded_reply(reader, "smtp")
    if code != 220:
        raise _refused("smtp", "STARTTLS", f"{code} {' '.join(text)}")


def _imap_caps(line: str) -> set[str]:
    return {word.strip("[]").upper() for word in line.split()}


async def _imap_tagged(reader: asyncio.StreamReader, tag: str) -> tuple[str, list[str]]:
    """Read up to the tagged answer: (its status word and text, the untagged lines before it)."""
    untagged: list[str] = []
    for _ in range(_MAX_LINES):
        line = await _line(reader, "imap")
        if line.startswith(f"{tag} "):
            return line[len(tag) + 1 :], untagged
        if not line.startswith(("* ", "+ ")):
            raise _not_protocol("imap", line)
        untagged.append(line)
    raise StepError("starttls", "the IMAP server sent an endless reply", "not-protocol")


async def _imap(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    greeting = await _line(reader, "imap")
    status = greeting[2:].split(" ", 1)[0].upper() if greeting.startswith("* ") else ""
    if status == "BYE":
        raise _refused("imap", "the session", greeting[2:])
    if status == "PREAUTH":  # RFC 3501: STARTTLS only in the not-authenticated state
        raise _refused("imap", "STARTTLS (it pre-authenticated the session)", greeting[2:])
    if status != "OK":
        raise _not_protocol("imap", greeting)
    if "STARTTLS" not in _imap_caps(greeting):  # the greeting's [CAPABILITY ...] may say it
        await _send(writer, b"C1 CAPABILITY\r\n")
        answer, untagged = await _imap_tagged(reader, "C1")
        if not answer.upper().startswith("OK"):
            raise _refused("imap", "CAPABILITY", answer)
        caps = [_imap_caps(u) for u in untagged if u.upper().startswith("* CAPABILITY ")]
        if not any("STARTTLS" in c for c in caps):
            raise _not_offered("imap")
    await _send(writer, b"S1 STARTTLS\r\n")
    answer, _ = await _imap_tagged(reader, "S1")
    if not answer.upper().startswith("OK"):
        raise _refused("imap", "STARTTLS", answer)


async def _pop3(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    greeting = await _line(reader, "pop3")
    if greeting.startswith("-ERR"):
        raise _refused("pop3", "the session", greeting)
    if not greeting.startswith("+OK"):
        raise _not_protocol("pop3", greeting)
    await _send(writer, b"CAPA\r\n")
    answer = await _line(reader, "pop3")
    if answer.startswith("+OK"):  # a capability list up to "."; without CAPA, just try STLS
        caps: list[str] = []
        while (line := await _line(reader, "pop3")) != ".":
            if len(caps) >= _MAX_LINES:
                raise StepError("starttls", "the POP3 server sent an endless reply", "not-protocol")
            caps.append(line.upper().split(" ", 1)[0])
        if "STLS" not in caps:
            raise _not_offered("pop3", "STLS")
    elif not answer.startswith("-ERR"):
        raise _not_protocol("pop3", answer)
    await _send(writer, b"STLS\r\n")
    answer = await _line(reader, "pop3")
    if answer.startswith("-ERR"):
        raise _refused("pop3", "STLS", answer)
    if not answer.startswith("+OK"):
        raise _not_protocol("pop3", answer)


async def _ftp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    code, text = await _coded_reply(reader, "ftp")
    if code != 220:
        raise _refused("ftp", "the session", f"{code} {' '.join(text)}")
    await _send(writer, b"AUTH TLS\r\n")
    code, text = await _coded_reply(reader, "ftp")
    if code != 234:
        raise _refused("ftp", "AUTH TLS", f"{code} {' '.join(text)}")


# LDAPMessage { messageID 1, extendedReq [APPLICATION 23] { requestName [0] StartTLS OID } }
_LDAP_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
_LDAP_STARTTLS = bytes((0x30, 0x1D, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16)) + _LDAP_STARTTLS_OID
_LDAP_RESULTS = {
    1: "operationsError",
    2: "protocolError",
    12: "unavailableCriticalExtension",
    52: "unavailable",
    53: "unwillingToPerform",
}


def _ber(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One definite-length BER element at ``pos``: (tag, value, position after it)."""
    if pos + 2 > len(data):
        raise ValueError("truncated")
    tag, size, pos = data[pos], data[pos + 1], pos + 2
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 3 or pos + count > len(data):
            raise ValueError("bad length")
        size, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
    if pos + size > len(data):
        raise ValueError("truncated")
    return tag, data[pos : pos + size], pos + size


async def _ldap(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _send(writer, _LDAP_STARTTLS)
    try:
        head = await reader.readexactly(2)
        extra = head[1] & 0x7F if head[1] & 0x80 else 0
        if head[0] != 0x30 or extra > 3:
            raise _not_protocol("ldap", head.decode("latin-1"))
        more = await reader.readexactly(extra)
        size = int.from_bytes(more, "big") if extra else head[1]
        if size > _BER_LIMIT:
            raise StepError(
                "starttls", f"the LDAP server's answer is too long ({size} bytes)", "not-protocol"
            )
        message = head + more + await reader.readexactly(size)
    except asyncio.IncompleteReadError as err:
        raise StepError(
            "starttls", "the server closed the connection during the LDAP dialogue", "closed"
        ) from err
    try:
        _, body, _ = _ber(message, 0)
        _, message_id, pos = _ber(body, 0)
        op, response, _ = _ber(body, pos)
        code_tag, code, pos = _ber(response, 0)
        _, _, pos = _ber(response, pos)  # matchedDN
        _, diagnostic, _ = _ber(response, pos)
    except ValueError as err:
        raise _not_protocol("ldap", message.hex()) from err
    if op != 0x78 or code_tag != 0x0A:
        raise _not_protocol("ldap", message.hex())
    result = int.from_bytes(code, "big")
    text = diagnostic.decode("utf-8", "replace")[:100]
    if int.from_bytes(message_id, "big") == 0:  # unsolicited: Notice of Disconnection
        raise _refused("ldap", "the session", f"result {result} {text}".strip())
    if result != 0:
        name = _LDAP_RESULTS.get(result, "error")
        raise _refused("ldap", "StartTLS", f"result {result} ({name}) {text}".strip())


async def _postgres(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _send(writer, struct.pack("!II", 8, 80877103))  # SSLRequest
    answer = await reader.read(1)
    if not answer:
        raise StepError(
            "starttls", "the server closed the connection during the PostgreSQL dialogue", "closed"
        )
    if answer == b"N":
        raise _refused("postgres", "TLS", "it answered N (ssl = off)")
    if answer != b"S":
        raise _not_protocol("postgres", answer.decode("latin-1"))


DIALOGUES: dict[str, Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]] = {
    "smtp": _smtp,
    "imap": _imap,
    "pop3": _pop3,
    "ftp": _ftp,
    "ldap": _ldap,
    "postgres": _postgres,
}


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
            chain.append(x509.load_der_x509_certificate(der))
        except ValueError as err:
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
) -> None:
    reader, writer = await _within(
        _connect(host, port, family, state), connect_timeout, state, host, port
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
