"""What a discovery scan may touch: target specifications, port lists, the scope allow-list.

A user names hosts (``mail.example.com``), addresses (``10.0.0.5``, ``2001:db8::1``), networks
(``10.0.0.0/24``, ``2001:db8::/120``), address ranges (``10.0.0.5-10.0.0.40``, ``10.0.0.5-40``),
optionally with a port (``host:8443``, ``[2001:db8::1]:443``), directly or as lines of a file
(``#`` comments, blank lines). :func:`parse_targets` checks every token and keeps each one as a
:class:`HostItem` (first and last address, never the addresses between), so :meth:`TargetSpec.count`
is arithmetic and iterating a :class:`TargetSpec` expands lazily: memory stays flat whatever the
size. A :class:`Scope` (networks and host-name patterns) is what an admin allows; the scan asks it
before any connection.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from certmgr.shared.errors import InputTooLargeError, ValidationError

__all__ = [
    "DEFAULT_PORTS",
    "Endpoint",
    "HostItem",
    "IPAddress",
    "Scope",
    "SizeReport",
    "TargetSpec",
    "parse_ports",
    "parse_target_lines",
    "parse_targets",
    "read_target_file",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS: tuple[int, ...] = (
    443,
    8443,
    4443,
    9443,
    636,
    993,
    995,
    465,
    25,
    587,
    143,
    110,
    21,
    389,
    5432,
)
"""Direct TLS (HTTPS and its usual alternates, LDAPS, IMAPS, POP3S, SMTPS), then STARTTLS ports."""
MAX_ITEM_ADDRESSES = 2**24
"""The most addresses one token may name (a /8, an IPv6 /104); more is a typing error."""
MAX_ITEMS = 100_000
MAX_TOKEN_LENGTH = 300
MAX_FILE_BYTES = 4 * 1024 * 1024
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_SPLIT = re.compile(r"[\s,;]+")

Overlap = Literal["all", "some", "none"]


def _bad(token: str, why: str, field: str = "targets") -> ValidationError:
    return ValidationError(f"{token[:80]!r}: {why}", field=field)


@dataclass(frozen=True)
class HostItem:
    """One named target: a host name, or the addresses ``first``..``last`` (inclusive).

    ``ports`` is set when the token carried its own port (``host:8443``).
    """

    text: str
    kind: Literal["name", "address", "network", "range"]
    name: str | None = None
    first: IPAddress | None = None
    last: IPAddress | None = None
    ports: tuple[int, ...] | None = None

    @property
    def size(self) -> int:
        """How many addresses (a name counts as one: it is resolved only when scanned)."""
        if self.first is None or self.last is None:
            return 1
        return int(self.last) - int(self.first) + 1

    def addresses(self) -> Iterator[IPAddress]:
        """The addresses, in order, one at a time (nothing for a name)."""
        if self.first is None or self.last is None:
            return
        make = type(self.first)
        for value in range(int(self.first), int(self.last) + 1):
            yield make(value)


@dataclass(frozen=True)
class Endpoint:
    """One (host, port) pair of a spec; ``address`` is None for a name (not yet resolved)."""

    item: HostItem
    host: str
    port: int
    address: IPAddress | None


@dataclass(frozen=True)
class SizeReport:
    """A spec's size against a limit: ``excess`` pairs over it (0: within)."""

    count: int
    limit: int

    @property
    def excess(self) -> int:
        """Pairs beyond the limit."""
        return max(self.count - self.limit, 0)

    @property
    def over(self) -> bool:
        """True when a surface should ask for confirmation."""
        return self.count > self.limit


@dataclass(frozen=True)
class TargetSpec:
    """Host items and the ports to try on each (unless an item names its own)."""

    items: tuple[HostItem, ...]
    ports: tuple[int, ...] = DEFAULT_PORTS

    def count(self) -> int:
        """Number of (address or name, port) pairs, computed without expanding anything."""
        return sum(item.size * len(item.ports or self.ports) for item in self.items)

    def size_report(self, limit: int) -> SizeReport:
        """The count against ``limit``, so a surface can ask before a large scan.

        Raises:
            ValidationError: ``limit`` is negative.
        """
        if limit < 0:
            raise ValidationError("the size limit must not be negative", field="limit")
        return SizeReport(self.count(), limit)

    def __iter__(self) -> Iterator[Endpoint]:
        """Every pair, lazily.

        Within an item, ports vary slowest, so neighbouring pairs are on different hosts (the
        scan's per-host limit then rarely holds a worker back).
        """
        for item in self.items:
            for port in item.ports or self.ports:
                if item.name is not None:
                    yield Endpoint(item, item.name, port, None)
                    continue
                for address in item.addresses():
                    yield Endpoint(item, str(address), port, address)


# --- parsing -----------------------------------------------------------------------------------------
def parse_ports(text: str | Sequence[int] | None) -> tuple[int, ...]:
    """Ports from ``"443,8443,9000-9010"`` (or a sequence); None gives :data:`DEFAULT_PORTS`.

    Args:
        text: The port list, as typed or already as numbers.

    Returns:
        The ports, each once, in the order given.

    Raises:
        ValidationError: A port outside 1-65535, a reversed range, or an unreadable token.
    """
    if text is None:
        return DEFAULT_PORTS
    if not isinstance(text, str):
        for port in text:
            if not isinstance(port, int) or not 0 < port < 65536:
                raise _bad(str(port), "a port is a number from 1 to 65535", "ports")
        return tuple(dict.fromkeys(text))
    if len(text) > 10_000:
        raise ValidationError("the port list is too long", field="ports")
    ports: dict[int, None] = {}
    for token in filter(None, _SPLIT.split(text.strip())):
        low, dash, high = token.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or len(token) > 11:
            raise _bad(token, "not a port or a port range (443, 9000-9010)", "ports")
        first, last = int(low), int(high) if dash else int(low)
        for value in (first, last):
            if not 0 < value < 65536:
                raise _bad(token, f"port {value} is out of range (1-65535)", "ports")
        if last < first:
            raise _bad(token, "the range is reversed", "ports")
        ports.update(dict.fromkeys(range(first, last + 1)))
    if not ports:
        raise ValidationError("no ports given", field="ports")
    return tuple(ports)


def _address(text: str, token: str, *, v6: bool = False) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        version = "IPv6" if v6 or ":" in text else "IPv4"
        raise _bad(token, f"{text[:60]} is not a valid {version} address") from None


def _checked(item: HostItem) -> HostItem:
    if item.size > MAX_ITEM_ADDRESSES:
        raise _bad(
            item.text,
            f"names {item.size} addresses; one item may name at most {MAX_ITEM_ADDRESSES} "
            "(a /8 or an IPv6 /104): split it or narrow it",
        )
    return item


def _looks_ipv4(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+", text)) and "." in text


def _name(text: str, token: str, field: str = "targets") -> str:
    name = text.lower().rstrip(".")
    if _looks_ipv4(name) or (name and name.rsplit(".", 1)[-1].isdigit()):
        raise _bad(token, f"{text[:60]} is not a valid IPv4 address", field)
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        raise _bad(token, "not a valid host name", field) from None
    if not 0 < len(ascii_name) <= 253 or not all(_LABEL.match(p) for p in ascii_name.split(".")):
        raise _bad(token, "not a host name, address, network or address range", field)
    return ascii_name


def _range(left: str, right: str, token: str) -> HostItem:
    first = _address(left, token)
    if "." in right or ":" in right:
        last = _address(right, token)
    else:  # 10.0.0.5-40: the last octet (IPv4) or group (IPv6) of the first address
        base = int(first) & ~(0xFF if first.version == 4 else 0xFFFF)
        try:
            tail = int(right, 10 if first.version == 4 else 16)
        except ValueError:
            raise _bad(token, f"{right[:20]} is not the end of an address range") from None
        if tail > (0xFF if first.version == 4 else 0xFFFF):
            raise _bad(token, f"{right} is out of range for the last part of {first}")
        last = type(first)(base + tail)
    if first.version != last.version:
        raise _bad(token, "a range cannot mix IPv4 and IPv6")
    if int(last) < int(first):
        raise _bad(token, "the range is reversed (the first address comes after the last)")
    return _checked(HostItem(token, "range", first=first, last=last))


def _token_port(text: str, token: str) -> tuple[int, ...]:
    if not text.isdigit() or len(text) > 5:
        raise _bad(token, "one port after ':' (use the port list for more)")
    if not 0 < int(text) < 65536:
        raise _bad(token, f"port {int(text)} is out of range (1-65535)")
    return (int(text),)


def _one(token: str) -> HostItem:
    if len(token) > MAX_TOKEN_LENGTH:
        raise _bad(token, f"longer than {MAX_TOKEN_LENGTH} characters")
    ports: tuple[int, ...] | None = None
    text = token
    if text.startswith("["):  # [2001:db8::1] or [2001:db8::1]:443
        inner, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise _bad(token, "text after ']' must be ':PORT'")
        ports = _token_port(rest[1:], token) if rest else None
        address = _address(inner, token, v6=True)
        return HostItem(token, "address", first=address, last=address, ports=ports)
    if text.count(":") == 1:  # host:port or 10.0.0.5:443
        text, port_text = text.split(":")
        ports = _token_port(port_text, token)
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            base, _, prefix = text.partition("/")
            _address(base, token)
            bits = 32 if ":" not in base else 128
            raise _bad(token, f"/{prefix[:10]} is not a prefix length (0-{bits})") from None
        item = HostItem(token, "network", first=network[0], last=network[-1], ports=ports)
        return _checked(item)
    left, dash, right = text.partition("-")
    if dash and (_looks_ipv4(left) or ":" in left):
        item = _range(left, right, token)
        return HostItem(item.text, item.kind, first=item.first, last=item.last, ports=ports)
    if ":" in text or _looks_ipv4(text):
        address = _address(text, token)
        return HostItem(token, "address", first=address, last=address, ports=ports)
    return HostItem(token, "name", name=_name(text, token), ports=ports)


def parse_targets(
    tokens: str | Iterable[str], ports: str | Sequence[int] | None = None
) -> TargetSpec:
    """Parse what a user named into a :class:`TargetSpec` (nothing is resolved or expanded).

    Args:
        tokens: Targets separated by blanks, commas or new lines, or already split.
        ports: The ports for items without their own (see :func:`parse_ports`).

    Returns:
        The spec.

    Raises:
        ValidationError: A token is not a host name, address, network or range (the message
            quotes it), a range is reversed, an item names more than 2**24 addresses, or a port
            is bad.
        InputTooLargeError: More than 100,000 targets.
    """
    if isinstance(tokens, str):
        tokens = parse_target_lines(tokens)
    items: list[HostItem] = []
    for raw in tokens:
        for token in filter(None, _SPLIT.split(raw.strip())):
            if len(items) >= MAX_ITEMS:
                raise InputTooLargeError(f"more than {MAX_ITEMS} targets; split the scan")
            items.append(_one(token))
    if not items:
        raise ValidationError("no targets given", field="targets")
    return TargetSpec(tuple(items), parse_ports(ports))


def parse_target_lines(text: str) -> list[str]:
    """Target tokens from the text of a file: ``#`` starts a comment; blank lines are skipped.

    Returns:
        The tokens, in order.

    Raises:
        InputTooLargeError: The text is larger than 4 MiB.
    """
    if len(text) > MAX_FILE_BYTES:
        raise InputTooLargeError(f"a target list may hold at most {MAX_FILE_BYTES} bytes")
    tokens: list[str] = []
    for line in text.splitlines():
        tokens += filter(None, _SPLIT.split(line.partition("#")[0].strip()))
    return tokens


def read_target_file(path: Path) -> list[str]:
    """Read a target file (UTF-8, at most 4 MiB) into tokens (see :func:`parse_target_lines`).

    Raises:
        InputTooLargeError: The file is larger than 4 MiB.
        ValidationError: The file cannot be read or is not UTF-8 text.
    """
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ValidationError(f"cannot read {path}: {err.strerror or err}", field="file") from err
    if len(data) > MAX_FILE_BYTES:
        raise InputTooLargeError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return parse_target_lines(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValidationError(f"{path} is not UTF-8 text", field="file") from err


# --- scope --------------------------------------------------------------------------------------------
def _intervals(
    networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network], version: int
) -> list[tuple[int, int]]:
    spans = sorted((int(n[0]), int(n[-1])) for n in networks if n.version == version)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True)
class Scope:
    """The admin's allow-list: networks, and optionally host-name patterns.

    An address is in scope when a network holds it. A name is in scope when it matches a pattern
    (if any are set: patterns narrow, they never widen) and every address it resolves to is in
    scope; DNS can point any name anywhere, so the addresses always decide.
    """

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    names: tuple[str, ...] = ()
    _v4: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _v6: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)

    @classmethod
    def parse(cls, entries: str | Iterable[str]) -> Scope:
        """A scope from CIDRs, addresses and name patterns (``host.example.com``, ``*.example.com``).

        Raises:
            ValidationError: An entry is neither (the message quotes it).
        """
        if isinstance(entries, str):
            entries = parse_target_lines(entries)
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        names: list[str] = []
        for raw in entries:
            for entry in filter(None, _SPLIT.split(raw.strip())):
                if len(entry) > MAX_TOKEN_LENGTH:
                    raise _bad(entry, "too long", "scope")
                if entry.startswith("*."):
                    names.append("*." + _name(entry[2:], entry, "scope"))
                    continue
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                    continue
                except ValueError:
                    pass
                if "/" in entry or ":" in entry or _looks_ipv4(entry):
                    raise _bad(entry, "not a network (10.0.0.0/8, 2001:db8::/32)", "scope")
                names.append(_name(entry, entry, "scope"))
        return cls(tuple(networks), tuple(names))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_v4", tuple(_intervals(self.networks, 4)))
        object.__setattr__(self, "_v6", tuple(_intervals(self.networks, 6)))

    def overlap(self, first: IPAddress, last: IPAddress) -> Overlap:
        """Whether ``first``..``last`` lies wholly, partly or not at all in the networks."""
        spans = self._v4 if first.version == 4 else self._v6
        low, high = int(first), int(last)
        i = bisect.bisect_right(spans, (low, 2**129)) - 1
        if i >= 0 and spans[i][0] <= low and high <= spans[i][1]:
            return "all"
        j = (
            bisect.bisect_right(spans, (high, 2**129)) - 1
        )  # the last span starting at or below high
        if j >= 0 and spans[j][1] >= low:
            return "some"
        return "none"

    def allows_address(self, address: IPAddress) -> bool:
        """True when a scope network holds ``address``."""
        return self.overlap(address, address) == "all"

    def allows_name(self, name: str) -> bool:
        """True when ``name`` matches a pattern, or no patterns are set (its addresses decide)."""
        if not self.names:
            return True
        name = name.lower().rstrip(".")
        return any(name.endswith(p[1:]) if p.startswith("*.") else name == p for p in self.names)
