"""Advertising the controller on the LAN (``_certmgr._tcp.local.``) for agents enrolling without a URL.

The advert only tells an agent where to connect; nothing in it is trusted. The agent connects to
an advertised address and checks that address against the console certificate (TLS host name
check), then trusts only answers signed by the controller key its token names. So the console
certificate must carry the advertised addresses: ``certmgr init --listen ADDRESS:PORT`` puts the
listen address in it; advertise that address (``[agents] zeroconf_interfaces``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from zeroconf import InterfaceChoice, IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from certmgr.shared import protocol as p


@asynccontextmanager
async def advertised(
    interfaces: tuple[str, ...], port: int, ca_sha256: str, *, instance: str | None = None
) -> AsyncIterator[None]:
    """Register the service on ``interfaces`` (addresses) while the block runs; nothing when empty."""
    if not interfaces:
        yield
        return
    addrs = [ipaddress.ip_address(a) for a in interfaces if a not in ("0.0.0.0", "::")]  # noqa: S104 - wildcard means "all"
    v4_only = all(a.version == 4 for a in addrs) and addrs
    if addrs:
        zc = AsyncZeroconf(
            interfaces=[str(a) for a in addrs],
            ip_version=IPVersion.V4Only if v4_only else IPVersion.All,
        )
    else:
        zc = AsyncZeroconf(interfaces=InterfaceChoice.All)
    name = (instance or f"certmgr-{socket.gethostname()}")[:50]
    info = ServiceInfo(
        p.ZEROCONF_SERVICE_TYPE,
        f"{name}.{p.ZEROCONF_SERVICE_TYPE}",
        addresses=[a.packed for a in addrs] if addrs else None,
        port=port,
        properties={p.ZEROCONF_TXT_PATH: p.AGENT_API_PREFIX, p.ZEROCONF_TXT_CA_SHA256: ca_sha256},
        server=f"{name}.local.",
    )
    await zc.async_register_service(info)
    try:
        yield
    finally:
        await zc.async_unregister_service(info)
        await zc.async_close()
