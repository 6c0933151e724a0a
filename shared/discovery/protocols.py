"""Which TLS versions a server offers: the deeper scan behind the trust policy's protocol floor.

The discovery scan's probe negotiates the best version both sides know, so it never learns that
a server would still accept TLS 1.0. :func:`protocols_offered` tries one handshake per version,
each pinned with ``minimum_version``/``maximum_version``. Distributions build OpenSSL to refuse
TLS 1.0 and 1.1 at the default security level, so each attempt runs at ``@SECLEVEL=0`` with every
cipher: the question is what the *server* accepts, not what a modern client would. Nothing is
verified; no data is sent after the handshake.

It contacts ``host:port`` directly: call it only for endpoints a scan reached (inside its scope).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from certmgr.shared._tlswire import check_sni
from certmgr.shared.errors import ValidationError

__all__ = ["VERSIONS", "ProtocolScan", "protocols_offered"]

_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
VERSIONS: tuple[str, ...] = tuple(_VERSIONS)
"""The versions tried, oldest first, spelled as :mod:`ssl` and the trust policy spell them."""


@dataclass(frozen=True)
class ProtocolScan:
    """Per version: offered (a handshake completed), refused (the server said no), or undetermined.

    ``undetermined`` holds ``(version, reason)`` when the attempt could not decide: the port did
    not answer, the handshake stalled, or this client cannot speak the version at all.
    """

    offered: tuple[str, ...]
    refused: tuple[str, ...]
    undetermined: tuple[tuple[str, str], ...] = ()


def _context(version: ssl.TLSVersion) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # a version probe: the certificate is judged elsewhere
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1/TLSv1_1 are deprecated: tested
        ctx.minimum_version = version
        ctx.maximum_version = version
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


async def _try(
    host: str, port: int, sni: str | None, name: str, timeout: float
) -> tuple[str, str | None]:
    """``("offered" | "refused" | "undetermined", reason)`` for one version."""
    try:
        ctx = _context(_VERSIONS[name])
    except (ValueError, ssl.SSLError) as err:
        return "undetermined", f"this client cannot speak {name} ({err})"
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError as err:
                return "undetermined", f"cannot connect ({err.strerror or err})"
            try:
                await writer.start_tls(ctx, server_hostname=sni or "")
            except (ssl.SSLError, ConnectionError, EOFError):
                return "refused", None
            ssl_object = writer.get_extra_info("ssl_object")
            got = ssl_object.version() if ssl_object is not None else None
            if got != name:  # pragma: no cover - OpenSSL honours the pinned range
                return "undetermined", f"negotiated {got} instead"
            return "offered", None
    except TimeoutError:
        return "undetermined", f"no answer within {timeout:g} s"
    finally:
        if writer is not None:
            writer.transport.abort()  # no close_notify dance: nothing was said
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def protocols_offered(
    host: str,
    port: int,
    sni: str | None = None,
    *,
    versions: Sequence[str] = VERSIONS,
    timeout: float = 5.0,  # noqa: ASYNC109 - per attempt, like the probe's
) -> ProtocolScan:
    """Try one handshake per TLS version and report which ones the server accepts.

    Attempts run one after another (one connection at a time on the server).

    Args:
        host: Address (or name) of an endpoint a scan reached.
        port: TCP port of a direct-TLS service.
        sni: Server name to send; None or empty: none.
        versions: Which of :data:`VERSIONS` to try.
        timeout: Seconds per attempt (connect and handshake).

    Returns:
        What each version gave.

    Raises:
        ValidationError: An unknown version, a bad port, SNI or timeout.
    """
    unknown = [v for v in versions if v not in _VERSIONS]
    if unknown:
        raise ValidationError(
            f"unknown TLS version {unknown[0]!r} (use {', '.join(VERSIONS)})", field="versions"
        )
    if not 0 < port < 65536:
        raise ValidationError(f"port {port} is out of range", field="port")
    if timeout <= 0:
        raise ValidationError("timeout must be positive", field="timeout")
    if sni and not check_sni(sni):
        raise ValidationError(f"{sni[:60]!r} cannot be sent as a TLS server name", field="sni")
    offered: list[str] = []
    refused: list[str] = []
    undetermined: list[tuple[str, str]] = []
    for name in dict.fromkeys(versions):
        outcome, reason = await _try(host, port, sni, name, timeout)
        if outcome == "offered":
            offered.append(name)
        elif outcome == "refused":
            refused.append(name)
        else:
            undetermined.append((name, reason or "unknown"))
    return ProtocolScan(tuple(offered), tuple(refused), tuple(undetermined))
