"""STARTTLS dialogues of :mod:`certmgr.shared.tlsprobe`: SMTP, IMAP, POP3, FTP, LDAP, PostgreSQL.

Internal. Each dialogue brings a plain connection to the point where the TLS handshake starts, or
raises :class:`~certmgr.shared._tlsstep.StepError` with kind ``starttls``. Every dialogue is
bounded in line length, line count and answer size: a hostile server gets an error, never a hang.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable

from certmgr.shared._tlsstep import StepError

_MAX_LINES = 100  # per reply of a STARTTLS dialogue (capability lists are a few dozen lines)
LINE_LIMIT = 16384  # protocol lines are short; also caps what one readline buffers
_BER_LIMIT = 16384  # an LDAP ExtendedResponse is a few dozen bytes
LABELS = {
    "smtp": "SMTP",
    "imap": "IMAP",
    "pop3": "POP3",
    "ftp": "FTP",
    "ldap": "LDAP",
    "postgres": "PostgreSQL",
}


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
