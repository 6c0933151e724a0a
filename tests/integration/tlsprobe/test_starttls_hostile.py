"""STARTTLS against tiny hostile servers on loopback: garbage, endless lines and replies, closes,
no STARTTLS offered, refusals and silence. Every case ends in a clear result within its deadline.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from certmgr.shared.tlsprobe import probe
from tests.factories.hostile import Handler, serve

GREETING = {
    "smtp": b"220 mx.test ESMTP\r\n",
    "imap": b"* OK ready\r\n",
    "pop3": b"+OK ready\r\n",
    "ftp": b"220 ftp ready\r\n",
}


def scripted(greeting: bytes | None, answers: dict[bytes, bytes]) -> Handler:
    """Send ``greeting``; answer each line starting with a key; wait for the client to go."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if greeting is not None:
            writer.write(greeting)
            await writer.drain()
        while line := await reader.readline():
            for prefix, reply in answers.items():
                if line.upper().startswith(prefix):
                    writer.write(reply)
                    await writer.drain()
                    break

    return handler


def raw(request_size: int, reply: bytes, *, close: bool = False) -> Handler:
    """For client-first protocols: read the request, send ``reply`` (then close, or wait)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(request_size)
        writer.write(reply)
        await writer.drain()
        if not close:
            await reader.read()

    return handler


async def endless_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 ")
    while True:
        writer.write(b"a" * 16384)
        await writer.drain()
        await asyncio.sleep(0)  # drain() does not yield while the socket takes it all


def endless_reply(greeting: bytes, line: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        await reader.readline()
        while True:
            writer.write(line * 100)
            await writer.drain()
            await asyncio.sleep(0)

    return handler


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


LINE_PROTOCOLS = ["smtp", "imap", "pop3", "ftp"]
LDAP_REQUEST = 31
PG_REQUEST = 8


def ldap_result(code: int, message_id: int = 1, text: bytes = b"no") -> bytes:
    response = bytes((0x0A, 1, code, 0x04, 0, 0x04, len(text))) + text
    body = bytes((0x02, 1, message_id, 0x78, len(response))) + response
    return bytes((0x30, len(body))) + body


CASES: list[tuple[str, str, Handler, str, str]] = [
    # (id, protocol, server, expected reason, words in the message)
    *[
        (
            f"{p}-garbage-greeting",
            p,
            scripted(b"\x16\x03\x01 SSH-2.0\r\n", {}),
            "not-protocol",
            "does not speak",
        )
        for p in LINE_PROTOCOLS
    ],
    *[
        (f"{p}-endless-line", p, endless_line, "not-protocol", "endless line")
        for p in LINE_PROTOCOLS
    ],
    *[
        (
            f"{p}-close-after-greeting",
            p,
            raw(0, GREETING[p], close=True),
            "closed",
            "closed the connection",
        )
        for p in LINE_PROTOCOLS
    ],
    (
        "smtp-no-starttls",
        "smtp",
        scripted(GREETING["smtp"], {b"EHLO": b"250-mx\r\n250 SIZE 9\r\n"}),
        "not-offered",
        "does not offer STARTTLS",
    ),
    (
        "imap-no-starttls",
        "imap",
        scripted(
            GREETING["imap"], {b"C1 ": b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nC1 OK done\r\n"}
        ),
        "not-offered",
        "does not offer STARTTLS",
    ),
    (
        "pop3-no-stls",
        "pop3",
        scripted(GREETING["pop3"], {b"CAPA": b"+OK\r\nUSER\r\nTOP\r\n.\r\n"}),
        "not-offered",
        "does not offer STLS",
    ),
    (
        "smtp-refused",
        "smtp",
        scripted(
            GREETING["smtp"],
            {b"EHLO": b"250-mx\r\n250 STARTTLS\r\n", b"STARTTLS": b"454 no TLS\r\n"},
        ),
        "rejected",
        "refused STARTTLS: 454",
    ),
    (
        "imap-refused",
        "imap",
        scripted(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n", {b"S1 ": b"S1 NO not today\r\n"}),
        "rejected",
        "refused STARTTLS: NO not today",
    ),
    ("imap-bye", "imap", scripted(b"* BYE too many connections\r\n", {}), "rejected", "too many"),
    (
        "pop3-refused",
        "pop3",
        scripted(GREETING["pop3"], {b"CAPA": b"+OK\r\nSTLS\r\n.\r\n", b"STLS": b"-ERR no\r\n"}),
        "rejected",
        "refused STLS",
    ),
    (
        "ftp-refused",
        "ftp",
        scripted(GREETING["ftp"], {b"AUTH": b"534 policy says no\r\n"}),
        "rejected",
        "refused AUTH TLS: 534",
    ),
    ("ftp-busy", "ftp", scripted(b"421 too many users\r\n", {}), "rejected", "421"),
    (
        "smtp-endless-reply",
        "smtp",
        endless_reply(GREETING["smtp"], b"250-x\r\n"),
        "not-protocol",
        "endless reply",
    ),
    (
        "imap-endless-reply",
        "imap",
        endless_reply(GREETING["imap"], b"* x\r\n"),
        "not-protocol",
        "endless reply",
    ),
    (
        "pop3-endless-capa",
        "pop3",
        endless_reply(GREETING["pop3"], b"+OK\r\nX\r\n"),
        "not-protocol",
        "endless reply",
    ),
    (
        "ldap-garbage",
        "ldap",
        raw(LDAP_REQUEST, b"HTTP/1.0 400 Bad\r\n\r\n"),
        "not-protocol",
        "does not speak LDAP",
    ),
    (
        "ldap-huge-length",
        "ldap",
        raw(LDAP_REQUEST, b"\x30\x83\xff\xff\xff"),
        "not-protocol",
        "too long",
    ),
    ("ldap-close", "ldap", raw(LDAP_REQUEST, b"", close=True), "closed", "closed the connection"),
    (
        "ldap-refused",
        "ldap",
        raw(LDAP_REQUEST, ldap_result(2)),
        "rejected",
        "refused StartTLS: result 2 (protocolError) no",
    ),
    (
        "ldap-disconnect-notice",
        "ldap",
        raw(LDAP_REQUEST, ldap_result(52, message_id=0)),
        "rejected",
        "refused the session",
    ),
    (
        "ldap-bad-ber",
        "ldap",
        raw(LDAP_REQUEST, b"\x30\x03\x02\x05\x01"),
        "not-protocol",
        "does not speak LDAP",
    ),
    ("pg-refused", "postgres", raw(PG_REQUEST, b"N"), "rejected", "ssl = off"),
    ("pg-garbage", "postgres", raw(PG_REQUEST, b"E"), "not-protocol", "does not speak PostgreSQL"),
    ("pg-close", "postgres", raw(PG_REQUEST, b"", close=True), "closed", "closed the connection"),
]


@pytest.mark.parametrize(
    ("proto", "handler", "reason", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_hostile_starttls_server(
    proto: str, handler: Handler, reason: str, words: str
) -> None:
    async with serve(handler) as port:
        started = time.monotonic()
        r = await probe("127.0.0.1", port, starttls=proto, timeout=3)
    assert time.monotonic() - started < 3
    assert r.reachable and r.error_kind == "starttls" and r.phase == "starttls"
    assert r.error_reason == reason and words in (r.error or ""), r.error
    assert r.chain == () and r.protocol is None


@pytest.mark.parametrize("proto", ["smtp", "imap", "pop3", "ftp", "ldap", "postgres"])
async def test_silent_server_times_out_in_the_dialogue(proto: str) -> None:
    async with serve(silent) as port:
        started = time.monotonic()
        r = await probe("127.0.0.1", port, starttls=proto, timeout=3, handshake_timeout=0.3)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert r.error_kind == "timeout" and r.phase == "starttls"
    assert "STARTTLS dialogue within 0.3 s" in (r.error or ""), r.error
