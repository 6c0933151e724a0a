"""Enrolment (DESIGN section 6): find the controller, pin its CA and its key from the token, register keys.

1. The controller URL comes from ``--controller``, else the token, else a zeroconf browse for
   ``_certmgr._tcp.local.`` keeping the controller whose advertised CA fingerprint is the token's
   (the advert only says where to connect; nothing in it is trusted).
2. ``/pki/ca.pem`` is fetched over TLS *without* trusting anything; the certificate whose SHA-256
   equals the token's fingerprint becomes the only TLS trust anchor. A mismatch stops here and
   nothing is written.
3. The agent makes its X25519 and Ed25519 keys (the private halves never leave the host) and
   posts them with the token secret over the pinned connection, which also checks the host name
   (or address) of the URL against the controller's certificate. A controller found by zeroconf
   is reached by address, so its console certificate must name that address.
4. The controller's signing key in the answer must be the one the token names (``ck``): that key,
   not the CA (which issues every definition's certificate), is the controller's identity, and
   every later answer must be signed by it.
5. Only then is the state directory written.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Sequence
from typing import Any, Final

import aiohttp
import nacl.public
import nacl.signing
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from yarl import URL

from certmgr.agent import __version__
from certmgr.agent.client import ControllerClient, pinned_ssl_context, read_capped
from certmgr.agent.inventory import collect_inventory
from certmgr.agent.settings import AgentSettings
from certmgr.agent.state import AgentState, Enrollment
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import (
    ConflictError,
    InputError,
    InputTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    TemporaryUpstreamError,
    UpstreamRejectedError,
    ValidationError,
)
from certmgr.shared.pki import sha256_fingerprint
from certmgr.shared.targets import RealHost

logger = logging.getLogger(__name__)

MAX_CA_SIZE: Final = 256 * 1024
_NOT_LABEL: Final = re.compile(r"[^A-Za-z0-9._-]")


def _unverified_context() -> ssl.SSLContext:
    # Deliberately trusts nothing and checks nothing: what it fetches is judged by the token's
    # fingerprint, and nothing but the CA certificate is read over it.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def fetch_pinned_ca(
    url: str,
    ca_sha256: str,
    *,
    timeout: float = 15.0,  # noqa: ASYNC109 - applied with asyncio.timeout
) -> bytes:
    """Fetch the controller's CA certificates and keep the one the token names.

    Args:
        url: ``https://host:port`` of the controller.
        ca_sha256: The fingerprint from the enrolment token.
        timeout: Seconds for the whole fetch.

    Returns:
        PEM of the certificate whose SHA-256 is ``ca_sha256``.

    Raises:
        TemporaryUpstreamError: The controller cannot be reached.
        UpstreamRejectedError: It does not serve its CA certificate.
        PermissionDeniedError: No certificate it serves has the token's fingerprint.
    """
    target = URL(url.rstrip("/") + p.PATH_CA_CERT, encoded=True)
    try:
        async with (
            asyncio.timeout(timeout),
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=_unverified_context())
            ) as session,
            session.get(target, allow_redirects=False) as response,
        ):
            status = response.status
            data = await read_capped(response, MAX_CA_SIZE)
    except InputTooLargeError as err:
        raise UpstreamRejectedError(f"{url}{p.PATH_CA_CERT} is too large") from err
    except TimeoutError as err:
        raise TemporaryUpstreamError(f"{url} did not answer within {timeout:g} s") from err
    except (aiohttp.ClientError, ssl.SSLError, OSError) as err:
        raise TemporaryUpstreamError(f"cannot reach {url}: {type(err).__name__}: {err}") from err
    if status != 200:
        raise UpstreamRejectedError(f"{url}{p.PATH_CA_CERT} answered {status}, not a certificate")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as err:
        raise UpstreamRejectedError(f"{url}{p.PATH_CA_CERT} is not PEM certificates") from err
    for cert in certs:
        if sha256_fingerprint(cert) == ca_sha256:
            return cert.public_bytes(serialization.Encoding.PEM)
    seen = ", ".join(sha256_fingerprint(c)[:16] + "…" for c in certs) or "none"
    raise PermissionDeniedError(
        f"the controller at {url} serves CA certificate(s) {seen}, not the one the token pins "
        f"({ca_sha256[:16]}…): refusing to enrol"
    )


def _zeroconf_args(interfaces: Sequence[str] | None) -> dict[str, Any]:
    from zeroconf import InterfaceChoice, IPVersion

    if not interfaces:
        return {"interfaces": InterfaceChoice.All}
    try:
        versions = {ipaddress.ip_address(i.split("%")[0]).version for i in interfaces}
    except ValueError as err:
        raise ValidationError(
            "a zeroconf interface must be an IP address", field="interface"
        ) from err
    version = IPVersion.V4Only if versions == {4} else IPVersion.V6Only if versions == {6} else None
    return {"interfaces": list(interfaces), "ip_version": version or IPVersion.All}


def _url_from(addresses: Sequence[str], port: int) -> str:
    ordered = sorted(addresses, key=lambda a: (":" in a, a))
    host = ordered[0]
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


async def discover_controller(
    ca_sha256: str,
    *,
    interfaces: Sequence[str] | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - applied with asyncio.timeout
) -> str:
    """Browse zeroconf for a controller advertising ``ca_sha256``; return its URL.

    Args:
        ca_sha256: The token's CA fingerprint.
        interfaces: IP addresses of the interfaces to use (None: all).
        timeout: Seconds to browse.

    Returns:
        ``https://address:port`` of the first matching controller.

    Raises:
        NotFoundError: No matching controller answered in time.
        ValidationError: An interface is not an IP address.
    """
    from zeroconf import ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    names: asyncio.Queue[str] = asyncio.Queue()
    others = 0

    def on_change(**kw: Any) -> None:
        if kw["state_change"] in (ServiceStateChange.Added, ServiceStateChange.Updated):
            names.put_nowait(kw["name"])

    azc = AsyncZeroconf(**_zeroconf_args(interfaces))
    try:
        browser = AsyncServiceBrowser(azc.zeroconf, [p.ZEROCONF_SERVICE_TYPE], handlers=[on_change])
        try:
            async with asyncio.timeout(timeout):
                while True:
                    name = await names.get()
                    info = AsyncServiceInfo(p.ZEROCONF_SERVICE_TYPE, name)
                    if not await info.async_request(azc.zeroconf, 3000):
                        continue
                    props = info.decoded_properties
                    addresses = info.parsed_scoped_addresses()
                    if props.get(p.ZEROCONF_TXT_CA_SHA256) != ca_sha256 or not info.port:
                        others += 1
                        continue
                    if props.get(p.ZEROCONF_TXT_PATH) != p.AGENT_API_PREFIX or not addresses:
                        others += 1
                        continue
                    url = _url_from(addresses, info.port)
                    logger.info("found controller %s at %s by zeroconf", name, url)
                    return url
        except TimeoutError:
            raise NotFoundError(
                f"no controller with the token's CA ({ca_sha256[:16]}…) answered on zeroconf "
                f"within {timeout:g} s ({others} other certmgr service(s) seen); "
                "give --controller URL"
            ) from None
        finally:
            await browser.async_cancel()
    finally:
        await azc.async_close()


def _hostname() -> str:
    name = _NOT_LABEL.sub("-", socket.gethostname()).strip(".-_") or "agent"
    return name[:253]


async def enroll(
    settings: AgentSettings,
    token: p.EnrollmentToken,
    *,
    controller_url: str | None = None,
    name: str | None = None,
    interfaces: Sequence[str] | None = None,
    clock: Clock | None = None,
    force: bool = False,
    discovery_timeout: float = 10.0,
) -> Enrollment:
    """Enrol this agent with the controller that ``token`` names (see the module docstring).

    Args:
        settings: The agent settings (state directory, name, targets to report).
        token: The parsed enrolment token.
        controller_url: Overrides the token's URL and discovery.
        name: The agent name (default: settings, else the short host name).
        interfaces: Zeroconf interface addresses (None: all).
        clock: Time source.
        force: Replace an existing enrolment.
        discovery_timeout: Seconds to browse zeroconf.

    Returns:
        What was stored.

    Raises:
        ConflictError: Already enrolled and ``force`` is false.
        InputError: The token expired, or a bad URL or name.
        NotFoundError: No controller was found by zeroconf.
        PermissionDeniedError: The CA or the controller key does not match the token, or the
            controller refused it.
        TemporaryUpstreamError: The controller cannot be reached.
        UpstreamRejectedError: The controller rejected the request.
        ConfigurationError: The state directory cannot be written.
    """
    clock = clock or SystemClock()
    state = AgentState(settings.state_dir)
    if await asyncio.to_thread(state.is_enrolled) and not force:
        raise ConflictError(f"already enrolled (state in {settings.state_dir}); use --force")
    if token.expired(clock.now()):
        raise InputError("the enrolment token has expired: ask for a new one")
    if not token.controller_key_sha256:
        raise InputError(
            "the enrolment token does not name the controller's key: make a new one with "
            "'certmgr agent-token' on an up-to-date controller"
        )
    url = p.check_controller_url(controller_url) if controller_url else token.controller_url
    if not url:
        url = await discover_controller(
            token.ca_sha256, interfaces=interfaces, timeout=discovery_timeout
        )
    ca_pem = await fetch_pinned_ca(url, token.ca_sha256, timeout=settings.request_timeout)
    agent_name = name or settings.agent_name or _hostname().split(".")[0]
    if not p.LABEL.fullmatch(agent_name):
        raise ValidationError(
            "the agent name may hold letters, digits, '.', '_', '-'", field="name"
        )
    x25519 = nacl.public.PrivateKey.generate()
    ed25519 = nacl.signing.SigningKey.generate()
    targets = await asyncio.to_thread(collect_inventory, settings, state, RealHost())
    request = p.EnrollRequest(
        token_secret=token.secret,
        agent_name=agent_name,
        hostname=_hostname(),
        agent_version=__version__,
        x25519_public_key=bytes(x25519.public_key),
        ed25519_public_key=bytes(ed25519.verify_key),
        targets=targets,
    )
    connector = aiohttp.TCPConnector(ssl=pinned_ssl_context(ca_pem))
    async with aiohttp.ClientSession(connector=connector) as session:
        client = ControllerClient(session, url, None, timeout=settings.request_timeout)
        answer = await client.enroll(request)
    if p.controller_key_sha256(answer.controller_verify_key) != token.controller_key_sha256:
        raise PermissionDeniedError(
            f"the server at {url} answered with a controller key "
            f"({p.controller_key_sha256(answer.controller_verify_key)[:16]}…) that is not the one "
            f"the token pins ({token.controller_key_sha256[:16]}…): refusing to enrol"
        )
    enrollment = Enrollment(
        agent_id=answer.agent_id,
        controller_url=url,
        ca_pem=ca_pem,
        ca_sha256=token.ca_sha256,
        controller_verify_key=nacl.signing.VerifyKey(answer.controller_verify_key),
        x25519=x25519,
        ed25519=ed25519,
        poll_wait=answer.poll_wait_seconds,
        enrolled_at=clock.now(),
    )
    await asyncio.to_thread(state.save_enrollment, enrollment)
    logger.info("enrolled as agent %s with %s", answer.agent_id, url)
    return enrollment
