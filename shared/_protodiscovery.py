"""Agent-API message of agent discovery (re-exported, and documented, by :mod:`certmgr.shared.protocol`).

An agent scans its own host (loopback and its own addresses, on the configured ports) and sends
what answered: ``POST /api/agent/v1/discovery`` with a :class:`DiscoveryUpload`. Certificates go
as base64 DER, leaf first; the controller judges and matches them as it does its own scans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Self

from certmgr.shared._protojson import Fields, b64encode
from certmgr.shared._protomsg import _VERSION, LINE, MAX_LINE

MAX_LISTENERS: Final = 4096
MAX_CHAIN: Final = 10
MAX_CERT_BYTES: Final = 64 * 1024
MAX_DISCOVERY_SIZE: Final = 16 * 1024 * 1024
"""Largest :class:`DiscoveryUpload` body (a busy host's listeners with their chains)."""
_ADDRESS: Final = re.compile(r"[0-9A-Fa-f.:]{2,45}")
_SNI: Final = re.compile(r"[A-Za-z0-9._-]{0,253}")
_WORD: Final = re.compile(r"[a-z0-9-]{0,20}")
_PROTO_TEXT: Final = re.compile(r"[A-Za-z0-9._+/ -]{0,100}")


@dataclass(frozen=True, kw_only=True)
class DiscoveredListener:
    """One address:port of the agent's host and what it gave (a chain when TLS answered)."""

    address: str
    port: int
    sni: str = ""
    starttls: str = ""
    outcome: str
    message: str = ""
    protocol: str = ""
    cipher: str = ""
    handshake_ms: int = 0
    chain: tuple[bytes, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "address": self.address,
            "port": self.port,
            "sni": self.sni,
            "starttls": self.starttls,
            "outcome": self.outcome,
            "message": self.message,
            "protocol": self.protocol,
            "cipher": self.cipher,
            "handshake_ms": self.handshake_ms,
            "chain": [b64encode(c) for c in self.chain],
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)

        def der(item: object, path: str) -> bytes:
            return Fields({"c": item}, path).binary("c", max_size=MAX_CERT_BYTES)

        out = cls(
            address=f.text("address", max_len=45, pattern=_ADDRESS),
            port=f.integer("port", lo=1, hi=65535),
            sni=f.text("sni", max_len=253, pattern=_SNI, default=""),
            starttls=f.text("starttls", max_len=20, pattern=_WORD, default=""),
            outcome=f.text("outcome", max_len=20, pattern=_WORD),
            message=f.text("message", max_len=MAX_LINE, pattern=LINE, default=""),
            protocol=f.text("protocol", max_len=20, pattern=_PROTO_TEXT, default=""),
            cipher=f.text("cipher", max_len=100, pattern=_PROTO_TEXT, default=""),
            handshake_ms=f.integer("handshake_ms", lo=0, hi=10**7, default=0),
            chain=f.items("chain", der, max_items=MAX_CHAIN, default=()),
        )
        f.done()
        return out


@dataclass(frozen=True, kw_only=True)
class DiscoveryUpload:
    """``POST /discovery``: the TLS listeners the agent found on its own host."""

    agent_version: str
    ports: tuple[int, ...]
    addresses: tuple[str, ...]
    listeners: tuple[DiscoveredListener, ...]

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "agent_version": self.agent_version,
            "ports": list(self.ports),
            "addresses": list(self.addresses),
            "listeners": [x.to_json() for x in self.listeners],
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)

        def port(item: object, path: str) -> int:
            return Fields({"p": item}, path).integer("p", lo=1, hi=65535)

        out = cls(
            agent_version=f.text("agent_version", max_len=32, pattern=_VERSION),
            ports=f.items("ports", port, max_items=65535),
            addresses=f.texts("addresses", max_items=256, max_len=45, pattern=_ADDRESS),
            listeners=f.items("listeners", DiscoveredListener.from_json, max_items=MAX_LISTENERS),
        )
        f.done()
        return out
