"""The controller seen from the agent: typed, signed calls over an injected aiohttp session.

Third-party errors stop here: connection, TLS, OS errors and timeouts become
:class:`~certmgr.shared.errors.TemporaryUpstreamError` (retry with backoff); 401/403 become
:class:`~certmgr.shared.errors.PermissionDeniedError` (revoked or unknown agent, bad signature,
clock skew); other 4xx become :class:`~certmgr.shared.errors.UpstreamRejectedError`; a body
that is not the expected message becomes an :class:`~certmgr.shared.errors.InputError`.

Trust: TLS is anchored at the pinned CA *and* the host name of the controller URL is checked;
every 2xx answer to a signed call must be signed by the pinned controller key over the
request's nonce (:class:`~certmgr.agent.identity.ControllerPin`), else it becomes a
:class:`~certmgr.shared.errors.PermissionDeniedError` and is not acted on.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Final, Protocol

import aiohttp
import nacl.signing
from yarl import URL

from certmgr.agent import __version__
from certmgr.agent.identity import ControllerPin
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    InputTooLargeError,
    PermissionDeniedError,
    TemporaryUpstreamError,
    UpstreamRejectedError,
    ValidationError,
)

_RETRY_STATUS: Final = frozenset({408, 425, 429})
_SHOWN: Final = 200


class Signer(Protocol):
    """Makes the signature headers of one request."""

    def sign(self, method: str, path_with_query: str, body: bytes) -> dict[str, str]:
        """Headers that authenticate this request."""
        ...


@dataclass(frozen=True)
class RequestSigner:
    """Signs with the agent's Ed25519 key, a fresh nonce and the injected clock."""

    agent_id: str
    key: nacl.signing.SigningKey = field(repr=False)
    clock: Clock

    def sign(self, method: str, path_with_query: str, body: bytes) -> dict[str, str]:
        """Headers of :func:`certmgr.shared.protocol.sign_request`."""
        return p.sign_request(
            self.key, self.agent_id, method, path_with_query, body, self.clock.now(), p.new_nonce()
        )


def pinned_ssl_context(ca_pem: bytes) -> ssl.SSLContext:
    """A TLS client context whose only trust anchor is the pinned controller CA.

    The host name (or address) of the controller URL must be in the controller's certificate;
    a controller found by zeroconf is reached by address, so its console certificate must name
    the advertised addresses. A pinned intermediate works too (partial chains are accepted).
    The CA alone does not identify the controller (it issues every definition's certificate):
    answers are also checked against the pinned controller key.

    Raises:
        ValidationError: ``ca_pem`` holds no usable certificate.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    try:
        context.load_verify_locations(cadata=ca_pem.decode("ascii"))
    except (ssl.SSLError, ValueError) as err:
        raise ValidationError("the pinned CA certificate is unusable", field="ca_pem") from err
    return context


class ControllerClient:
    """Calls of the agent API. Every call has its own deadline (``asyncio.timeout``)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        signer: Signer | None,
        *,
        pin: ControllerPin | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109 - a per-call deadline applied with asyncio.timeout
    ) -> None:
        """Bind a session (its connector carries the pinned TLS context).

        Args:
            session: The aiohttp session (owned by the caller).
            base_url: ``https://host:port`` of the controller.
            signer: Signs calls after enrolment; None allows only :meth:`enroll`.
            pin: The controller key that must sign every answer to a signed call; signed
                calls are refused without it.
            timeout: Seconds per call, added to the long-poll wait for :meth:`work`.
        """
        self._session = session
        self._base = base_url.rstrip("/")
        self._signer = signer
        self._pin = pin
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ControllerClient({self._base!r})"

    async def enroll(self, request: p.EnrollRequest) -> p.EnrollResponse:
        """``POST /enroll`` (authenticated by the token secret inside the body).

        Raises:
            TemporaryUpstreamError: The controller is unreachable or failed; retry.
            PermissionDeniedError: The token was refused (unknown, used or expired).
            UpstreamRejectedError: The request was rejected.
            InputError: The answer is not an :class:`~certmgr.shared.protocol.EnrollResponse`.
        """
        data = await self._call("POST", p.PATH_ENROLL, p.encode(request), signed=False)
        return p.decode(p.EnrollResponse, data)

    async def work(self, wait: int) -> p.WorkResponse:
        """``GET /work?wait=N``: long-poll for packages and key requests.

        Raises:
            TemporaryUpstreamError: The controller is unreachable or failed; retry.
            PermissionDeniedError: The controller refused this agent.
            UpstreamRejectedError: The request was rejected.
            InputError: The answer is not a :class:`~certmgr.shared.protocol.WorkResponse`.
        """
        path = p.work_path(wait)
        data = await self._call(
            "GET", path, b"", timeout=wait + self.timeout, max_size=p.MAX_WORK_RESPONSE_SIZE
        )
        return p.decode(p.WorkResponse, data, max_size=p.MAX_WORK_RESPONSE_SIZE)

    async def report(self, report: p.Report) -> None:
        """``POST /report``.

        Raises:
            TemporaryUpstreamError: The controller is unreachable or failed; retry.
            PermissionDeniedError: The controller refused this agent.
            UpstreamRejectedError: The report was rejected for good.
        """
        await self._call("POST", p.PATH_REPORT, p.encode(report))

    async def inventory(self, inventory: p.InventoryUpload) -> None:
        """``POST /inventory``.

        Raises:
            TemporaryUpstreamError: The controller is unreachable or failed; retry.
            PermissionDeniedError: The controller refused this agent.
            UpstreamRejectedError: The inventory was rejected for good.
        """
        await self._call("POST", p.PATH_INVENTORY, p.encode(inventory))

    async def discovery(self, upload: p.DiscoveryUpload) -> None:
        """``POST /discovery``: the TLS listeners found on this host.

        Raises:
            TemporaryUpstreamError: The controller is unreachable or failed; retry.
            PermissionDeniedError: The controller refused this agent.
            UpstreamRejectedError: The upload was rejected for good.
        """
        await self._call("POST", p.PATH_DISCOVERY, p.encode(upload), timeout=120)

    async def upload_csr(self, upload: p.CsrUpload) -> None:
        """``POST /csr``.

        Raises:
            TemporaryUpstreamError: The controller is unreachable or failed; retry.
            PermissionDeniedError: The controller refused this agent.
            UpstreamRejectedError: The upload was rejected for good.
        """
        await self._call("POST", p.PATH_CSR, p.encode(upload))

    async def _call(
        self,
        method: str,
        path: str,
        body: bytes,
        *,
        signed: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 - applied with asyncio.timeout below
        max_size: int = p.MAX_MESSAGE_SIZE,
    ) -> bytes:
        headers = {"Accept": "application/json", "User-Agent": f"certmgr-agent/{__version__}"}
        if body:
            headers["Content-Type"] = "application/json"
        nonce = ""
        if signed:
            if self._signer is None:
                raise PermissionDeniedError("this client has no signing key (not enrolled)")
            if self._pin is None:
                raise PermissionDeniedError("this client pins no controller key (not enrolled)")
            signature = self._signer.sign(method, path, body)
            nonce = signature.get(p.HEADER_NONCE, "")
            headers.update(signature)
        limit = self.timeout if timeout is None else timeout
        url = URL(self._base + path, encoded=True)
        try:
            async with (
                asyncio.timeout(limit),
                self._session.request(
                    method, url, data=body or None, headers=headers, allow_redirects=False
                ) as response,
            ):
                status = response.status
                data = await read_capped(response, max_size)
                answer_headers = response.headers  # items() repeats a repeated name
        except TimeoutError as err:
            raise TemporaryUpstreamError(
                f"the controller did not answer within {limit:g} s"
            ) from err
        except aiohttp.ClientConnectorCertificateError as err:
            raise TemporaryUpstreamError(
                f"the controller at {self._base} presents a certificate the pinned CA did not issue"
            ) from err
        except (aiohttp.ClientError, ssl.SSLError, OSError) as err:
            raise TemporaryUpstreamError(
                f"cannot reach the controller at {self._base}: {_describe(err)}"
            ) from err
        _check_status(status, data, method, path)
        if signed and self._pin is not None:
            await self._pin.check(answer_headers, method, path, nonce, status, data)
        return data


async def read_capped(response: aiohttp.ClientResponse, max_size: int) -> bytes:
    """The whole body of ``response``, refusing more than ``max_size`` bytes.

    Raises:
        InputTooLargeError: The body is larger.
    """
    if response.content_length is not None and response.content_length > max_size:
        raise InputTooLargeError(f"the controller's answer exceeds {max_size} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_size:
            raise InputTooLargeError(f"the controller's answer exceeds {max_size} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_status(status: int, data: bytes, method: str, path: str) -> None:
    if 200 <= status < 300:
        return
    route = path.split("?", 1)[0]
    detail = _shown(data)
    if status in (401, 403):
        raise PermissionDeniedError(
            f"the controller refused this agent ({status} on {method} {route}){detail}"
        )
    if status >= 500 or status in _RETRY_STATUS:
        raise TemporaryUpstreamError(
            f"the controller failed ({status} on {method} {route}){detail}"
        )
    raise UpstreamRejectedError(f"the controller rejected {method} {route} ({status}){detail}")


def _shown(data: bytes) -> str:
    text = data[:_SHOWN].decode("utf-8", errors="replace")
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return f": {text}" if text else ""


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
