"""A tiny, bounds-checked DER reader and writer for the few structures cryptography does not expose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
BMP_STRING = 0x1E
CONTEXT_0 = 0xA0

_MAX_LENGTH_OCTETS = 4  # nothing we read is 4 GiB or larger
_MAX_CHILDREN = 10_000
_MAX_OID_ARC_BYTES = 8


class DerError(ValueError):
    """Malformed, truncated or unsupported DER (translated by the callers)."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One element: its tag and where its header starts, its contents start and it ends."""

    tag: int
    start: int
    content_start: int
    end: int

    @property
    def length(self) -> int:
        """Length of the contents."""
        return self.end - self.content_start


def read_tlv(data: bytes, pos: int = 0, end: int | None = None) -> Tlv:
    """Read the element that starts at ``pos``; it must end at or before ``end``.

    Raises:
        DerError: Truncated data, a length that overruns ``end``, BER indefinite length,
            or a high tag number.
    """
    limit = len(data) if end is None else min(end, len(data))
    if pos + 2 > limit:
        raise DerError("DER data ends early")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("high tag numbers are not supported")
    first = data[pos + 1]
    header = 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DerError("indefinite length (BER) is not DER")
    else:
        count = first & 0x7F
        if count > _MAX_LENGTH_OCTETS:
            raise DerError("length field too long")
        if pos + 2 + count > limit:
            raise DerError("DER data ends early")
        length = int.from_bytes(data[pos + 2 : pos + 2 + count], "big")
        header += count
    content_start = pos + header
    if length > limit - content_start:
        raise DerError(f"DER element claims {length} bytes but only {limit - content_start} remain")
    return Tlv(tag, pos, content_start, content_start + length)


def expect(data: bytes, pos: int, end: int, tag: int) -> Tlv:
    """Read an element and check its tag.

    Raises:
        DerError: Malformed or an unexpected tag.
    """
    tlv = read_tlv(data, pos, end)
    if tlv.tag != tag:
        raise DerError(f"expected tag 0x{tag:02x}, found 0x{tlv.tag:02x}")
    return tlv


def whole(data: bytes, tag: int) -> Tlv:
    """Read the one element ``data`` consists of (nothing may follow it).

    Raises:
        DerError: Malformed, an unexpected tag, or trailing bytes.
    """
    tlv = expect(data, 0, len(data), tag)
    if tlv.end != len(data):
        raise DerError("unexpected bytes after the element")
    return tlv


def children(data: bytes, parent: Tlv) -> Iterator[Tlv]:
    """The elements inside a constructed element, in order.

    Raises:
        DerError: Malformed contents or too many elements.
    """
    pos = parent.content_start
    count = 0
    while pos < parent.end:
        count += 1
        if count > _MAX_CHILDREN:
            raise DerError("too many elements")
        tlv = read_tlv(data, pos, parent.end)
        yield tlv
        pos = tlv.end


def child_list(data: bytes, parent: Tlv, *, minimum: int = 0) -> list[Tlv]:
    """All elements inside ``parent`` (at least ``minimum`` of them).

    Raises:
        DerError: Malformed contents or too few elements.
    """
    items = list(children(data, parent))
    if len(items) < minimum:
        raise DerError("structure has too few elements")
    return items


def contents(data: bytes, tlv: Tlv) -> bytes:
    """The contents octets of an element."""
    return data[tlv.content_start : tlv.end]


def element(data: bytes, tlv: Tlv) -> bytes:
    """The whole element, header included."""
    return data[tlv.start : tlv.end]


def decode_oid(data: bytes, tlv: Tlv) -> str:
    """Dotted form of an OBJECT IDENTIFIER.

    Raises:
        DerError: Not an OID or malformed.
    """
    if tlv.tag != OID or tlv.length == 0:
        raise DerError("not an object identifier")
    arcs: list[int] = []
    value = 0
    arc_bytes = 0
    for byte in contents(data, tlv):
        value = (value << 7) | (byte & 0x7F)
        arc_bytes += 1
        if arc_bytes > _MAX_OID_ARC_BYTES:
            raise DerError("object identifier arc too long")
        if not byte & 0x80:
            arcs.append(value)
            value = 0
            arc_bytes = 0
    if arc_bytes:
        raise DerError("object identifier ends early")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def decode_int(data: bytes, tlv: Tlv, *, max_bytes: int = 8) -> int:
    """A small INTEGER (used for versions and iteration counts).

    Raises:
        DerError: Not an INTEGER, empty or longer than ``max_bytes``.
    """
    if tlv.tag != INTEGER or tlv.length == 0:
        raise DerError("not an integer")
    if tlv.length > max_bytes:
        raise DerError("integer too large")
    return int.from_bytes(contents(data, tlv), "big", signed=True)


def encode(tag: int, body: bytes) -> bytes:
    """One element from a tag and its contents."""
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + body


def seq(*parts: bytes) -> bytes:
    """A SEQUENCE of already-encoded elements."""
    return encode(SEQUENCE, b"".join(parts))


def octets(value: bytes) -> bytes:
    """An OCTET STRING."""
    return encode(OCTET_STRING, value)


def null() -> bytes:
    """A NULL."""
    return b"\x05\x00"


def integer(value: int) -> bytes:
    """An INTEGER (non-negative)."""
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
    return encode(INTEGER, raw)


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for value in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        out.extend(reversed(chunk))
    return encode(OID, bytes(out))
