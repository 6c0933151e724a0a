"""Which address the IP allow-list and the audit log see behind a reverse proxy."""

from __future__ import annotations

import ipaddress

import pytest

from certmgr.controller.web.ipacl import client_address

PROXIES = [ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("fd00::/64")]


@pytest.mark.parametrize(
    ("peer", "xff", "proxies", "expected"),
    [
        # no proxy configured: the header is the client's to forge, so it is ignored
        ("203.0.113.5", "127.0.0.1", [], "203.0.113.5"),
        # the peer is not a trusted proxy: ignored again
        ("203.0.113.5", "127.0.0.1", PROXIES, "203.0.113.5"),
        # through the proxy: the hop the proxy saw
        ("10.0.0.2", "198.51.100.7", PROXIES, "198.51.100.7"),
        # a forged hop on the left is not believed; the right-most untrusted hop is
        ("10.0.0.2", "127.0.0.1, 198.51.100.7", PROXIES, "198.51.100.7"),
        # chained trusted proxies are skipped
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", PROXIES, "198.51.100.7"),
        ("fd00::1", "2001:db8::9", PROXIES, "2001:db8::9"),
        # garbage in the header falls back to the peer rather than to anything the client wrote
        ("10.0.0.2", "not-an-ip", PROXIES, "10.0.0.2"),
        ("10.0.0.2", "198.51.100.7, <script>", PROXIES, "10.0.0.2"),
        ("10.0.0.2", "", PROXIES, "10.0.0.2"),
        (None, "198.51.100.7", PROXIES, ""),
    ],
)
def test_client_address(
    peer: str | None, xff: str, proxies: list[ipaddress.IPv4Network], expected: str
) -> None:
    assert client_address(peer, xff, list(proxies)) == expected
