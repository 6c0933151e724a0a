"""The IP allow-list file (``ip_acl.txt``): CIDRs, ``#`` comments, reloaded when the file changes."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_NETWORKS = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "fe80::/10",
)


def parse_acl(text: str) -> tuple[list[IPNetwork], list[str]]:
    """Networks in the file text, and one message per bad line."""
    nets: list[IPNetwork] = []
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            problems.append(f"line {n}: {entry!r} is not an address or CIDR")
    return nets, problems


def address_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse a peer address (IPv4-mapped IPv6 becomes IPv4; zone ids dropped)."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass
class IpAllowList:
    """Reads the file again whenever its modification time or size changes.

    A missing file means the defaults; a file whose every line is invalid keeps the last
    good list (a typo must not lock everybody out or open everything up).
    """

    path: Path
    _stamp: tuple[float, int] | None = None
    _nets: list[IPNetwork] = field(
        default_factory=lambda: [ipaddress.ip_network(n) for n in DEFAULT_NETWORKS]
    )
    problems: list[str] = field(default_factory=list)

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            if self._stamp is not None:
                self._nets = [ipaddress.ip_network(n) for n in DEFAULT_NETWORKS]
                self._stamp = None
            return
        stamp = (st.st_mtime, st.st_size)
        if stamp == self._stamp:
            return
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            logger.warning(
                "cannot read %s: %s; keeping the previous allow-list",
                self.path,
                err.__class__.__name__,
            )
            return
        nets, problems = parse_acl(text)
        self.problems = problems
        for p in problems:
            logger.warning("%s %s (ignored)", self.path, p)
        if nets or not problems:
            self._nets = nets
        self._stamp = stamp

    def allows(self, address: str) -> bool:
        """True when ``address`` is inside one of the listed networks."""
        self._refresh()
        ip = address_of(address)
        if ip is None:
            return False
        return any(ip.version == net.version and ip in net for net in self._nets)

    @property
    def networks(self) -> list[str]:
        """The networks in force."""
        self._refresh()
        return [str(n) for n in self._nets]


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: list[IPNetwork]
) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy, then the right-most untrusted XFF hop."""
    if not peer:
        return ""
    if not forwarded_for or not trusted_proxies:
        return peer
    ip = address_of(peer)
    if ip is None or not any(ip.version == n.version and ip in n for n in trusted_proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        hip = address_of(hop)
        if hip is None:
            return peer
        if not any(hip.version == n.version and hip in n for n in trusted_proxies):
            return str(hip)
    return str(address_of(hops[0]) or peer) if hops else peer
