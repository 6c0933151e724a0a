"""``certmgr-agent discover``: the TLS listeners of this host, sent to the controller.

The agent scans only its own host (loopback and the addresses of its host name, plus any the
admin names), with the same scan engine as the controller, and reports every endpoint that
answered. Discovery so reaches networks the controller cannot; the controller judges and matches
the results like its own and marks them with the agent as their source.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from contextlib import aclosing

import aiohttp
from cryptography.hazmat.primitives.serialization import Encoding

from certmgr.agent import __version__
from certmgr.agent.client import ControllerClient, RequestSigner, pinned_ssl_context
from certmgr.agent.identity import ControllerPin
from certmgr.agent.settings import AgentSettings
from certmgr.agent.state import AgentState
from certmgr.shared.clock import SystemClock
from certmgr.shared.discovery import Outcome, Scope, Timeouts, parse_targets, scan
from certmgr.shared.errors import ValidationError
from certmgr.shared.protocol import DiscoveredListener, DiscoveryUpload

_SKIPPED = frozenset({Outcome.CLOSED, Outcome.FILTERED, Outcome.OUT_OF_SCOPE, Outcome.UNRESOLVED})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def local_addresses(extra: Sequence[str] = ()) -> list[str]:
    """Loopback, the addresses the host name resolves to, and ``extra`` (each once)."""
    found = ["127.0.0.1"]
    if socket.has_ipv6:
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
            found.append("::1")
        except OSError:
            pass
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except OSError:
        infos = []
    found += [str(i[4][0]).split("%", 1)[0] for i in infos]
    return list(dict.fromkeys([*found, *extra]))


async def discover_here(
    ports: str | None, addresses: Sequence[str], *, timeouts: Timeouts | None = None
) -> DiscoveryUpload:
    """Scan ``addresses`` (this host's) on ``ports`` and return what answered.

    Raises:
        ValidationError: A bad port list or address.
    """
    for a in addresses:
        if "/" in a or "-" in a:
            raise ValidationError(f"{a!r}: name single addresses of this host", field="address")
    spec = parse_targets(list(addresses), ports)
    scope = Scope.parse(list(addresses))
    listeners: list[DiscoveredListener] = []
    results = scan(
        spec,
        scope=scope,
        concurrency=64,
        per_host=16,
        timeouts=timeouts or Timeouts(connect=1.0, handshake=5.0),
        precheck=True,
    )
    async with aclosing(results) as it:
        async for r in it:
            if r.outcome in _SKIPPED or r.address is None or r.port is None:
                continue
            listeners.append(
                DiscoveredListener(
                    address=r.address,
                    port=r.port,
                    sni=r.sni or "",
                    starttls=r.starttls or "",
                    outcome=str(r.outcome),
                    message=_CONTROL.sub(" ", r.message or "")[:1000],
                    protocol=(r.protocol or "")[:20],
                    cipher=(r.cipher or "")[:100],
                    handshake_ms=int(r.handshake_ms or 0),
                    chain=tuple(c.public_bytes(Encoding.DER) for c in r.chain[:10]),
                )
            )
    return DiscoveryUpload(
        agent_version=__version__,
        ports=spec.ports,
        addresses=tuple(addresses),
        listeners=tuple(listeners),
    )


async def send_discovery(settings: AgentSettings, upload: DiscoveryUpload) -> None:
    """Send the results to the controller this agent is enrolled with.

    Raises:
        ConfigurationError: Not enrolled.
        TemporaryUpstreamError: The controller is unreachable.
        PermissionDeniedError: The controller refused this agent.
    """
    state = AgentState(settings.state_dir)
    enrollment = await asyncio.to_thread(state.load_enrollment)
    url = settings.controller_url or enrollment.controller_url
    signer = RequestSigner(enrollment.agent_id, enrollment.ed25519, SystemClock())
    pin = ControllerPin(enrollment.controller_verify_key)
    connector = aiohttp.TCPConnector(ssl=pinned_ssl_context(enrollment.ca_pem), limit=2)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = ControllerClient(session, url, signer, pin=pin, timeout=settings.request_timeout)
        await client.discovery(upload)
