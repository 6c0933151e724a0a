"""The RFC 8555 order flow: newOrder, authorizations, challenges, polling, finalize, download.

ACME requests and the waits between polls run on the event loop; waits follow the CA's
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from josepy import errors as jose_errors

from certmgr.controller.issuers._acme_net import (
    PEM_CHAIN_CONTENT_TYPE,
    AcmeConnection,
    JsonPayload,
    Reply,
)
from certmgr.controller.issuers._acme_payload import (
    check_solvable,
    csr_identifiers,
    features_of,
    kinds_for,
    new_order_payload,
)
from certmgr.controller.issuers.acme_errors import (
    AcmeRejectedError,
    AcmeTemporaryError,
    problem_error,
)
from certmgr.controller.issuers.acme_solvers import ChallengeSolver
from certmgr.shared.errors import CertmgrError

logger = logging.getLogger(__name__)

_CLEANUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class PollPolicy:
    """How to poll pending authorizations and orders when the CA sends no ``Retry-After``.

    Attributes:
        first: First wait in seconds.
        factor: Growth of the wait after each poll.
        maximum: Longest wait without ``Retry-After``.
        max_retry_after: A longer ``Retry-After`` ends the attempt with a temporary error.
        max_polls: Upper bound on polls of one resource.
    """

    first: float = 0.05
    factor: float = 2.0
    maximum: float = 5.0
    max_retry_after: float = 300.0
    max_polls: int = 120


@dataclass(frozen=True)
class AcmeResult:
    """An issued certificate and where it came from.

    Attributes:
        cert_pem: The leaf certificate (PEM).
        chain_pem: The intermediates the CA sent after the leaf (PEM, may be empty).
        fullchain_pem: Exactly what the CA sent.
        order_url: The order's URL.
        certificate_url: The certificate's download URL.
        identifiers: The names the order covered.
        profile: The profile that was requested (None when none was sent).
        replaces: The ARI id sent as ``replaces`` (None when none was sent).
        reused_authorizations: Authorizations that were already valid (no challenge needed).
    """

    cert_pem: bytes
    chain_pem: bytes
    fullchain_pem: bytes
    order_url: str
    certificate_url: str
    identifiers: tuple[str, ...]
    profile: str | None = None
    replaces: str | None = None
    reused_authorizations: int = 0


@dataclass
class Challenge:
    """One challenge this client answers (kept for cleanup)."""

    domain: str
    kind: str
    token: str
    value: str = field(repr=False)
    url: str
    authz_url: str
    response: Any = field(repr=False)
    retry_after: float | None = None


class OrderRun:
    """One order from newOrder to download; remembers what to clean up."""

    def __init__(
        self,
        conn: AcmeConnection,
        solver: ChallengeSolver,
        poll: PollPolicy,
        deadline: float,
    ) -> None:
        self.conn = conn
        self.solver = solver
        self.poll_policy = poll
        self.deadline = deadline  # loop time
        self.challenges: list[Challenge] = []
        self.authz_urls: list[str] = []
        self.finished = False

    async def run(
        self,
        csr: x509.CertificateSigningRequest,
        *,
        profile: str | None,
        replaces: str | None,
    ) -> AcmeResult:
        """Order, validate, finalize and download.

        Raises:
            ValidationError: The CSR or options do not fit the solver or the CA.
            AcmeTemporaryError: Retry later.
            AcmeRejectedError: The CA refused (the CA's detail is in the message).
            UpstreamError: A solver failed.
        """
        directory = await self.conn.directory()
        features = features_of(directory)
        identifiers = csr_identifiers(csr)
        check_solvable(identifiers, self.solver)
        payload = new_order_payload(identifiers, features, profile=profile, replaces=replaces)
        reply = await self.conn.post(directory["newOrder"], JsonPayload(payload), "newOrder")
        order_url = reply.location
        if not order_url:
            raise AcmeRejectedError("ACME newOrder: the CA sent no order URL")
        order = self._order(reply)
        self.authz_urls = list(order.authorizations)
        reused = await self._authorize()
        certificate_url = await self._finalize(order_url, order, csr)
        fullchain = await self._download(certificate_url)
        cert_pem, chain_pem = _split_chain(fullchain, csr)
        self.finished = True
        return AcmeResult(
            cert_pem=cert_pem,
            chain_pem=chain_pem,
            fullchain_pem=fullchain,
            order_url=order_url,
            certificate_url=certificate_url,
            identifiers=tuple(v for _, v in identifiers),
            profile=payload.get("profile"),
            replaces=payload.get("replaces"),
            reused_authorizations=reused,
        )

    @classmethod
    def _order(cls, reply: Reply) -> messages.Order:
        return cls._parse_order(reply.json("order"))

    @staticmethod
    def _parse_order(body: Mapping[str, Any]) -> messages.Order:
        try:
            order: messages.Order = messages.Order.from_json(dict(body))
        except (ValueError, TypeError, KeyError, jose_errors.Error) as err:
            raise AcmeRejectedError("ACME order: the CA sent a malformed order") from err
        return order

    async def _fetch_authz(self, url: str) -> messages.Authorization:
        reply = await self.conn.post(url, None, "authorization")
        try:
            authz: messages.Authorization = messages.Authorization.from_json(
                reply.json("authorization")
            )
        except (ValueError, TypeError, KeyError, jose_errors.Error) as err:
            raise AcmeRejectedError("ACME authorization: the CA sent a malformed reply") from err
        return authz

    async def _authorize(self) -> int:
        reused = 0
        todo: list[Challenge] = []
        for url in self.authz_urls:
            authz = await self._fetch_authz(url)
            name = str(authz.identifier.value)
            if authz.status == messages.STATUS_VALID:
                reused += 1
                continue
            if authz.status != messages.STATUS_PENDING:
                raise AcmeRejectedError(
                    f"ACME authorization for {name} is {authz.status}", identifier=name
                )
            todo.append(self._choose(url, authz))
        self.challenges = todo
        results = await asyncio.gather(
            *(self.solver.prepare(c.domain, c.kind, c.token, c.value) for c in todo),
            return_exceptions=True,
        )
        for outcome in results:
            if isinstance(outcome, BaseException):
                raise outcome
        for chall in todo:
            reply = await self.conn.post(chall.url, chall.response, f"challenge {chall.kind}")
            chall.retry_after = reply.retry_after(dt.datetime.now(dt.UTC))
        if todo:
            await self._await_authzs(todo)
        return reused

    def _choose(self, url: str, authz: messages.Authorization) -> Challenge:
        name = str(authz.identifier.value)
        wildcard = bool(authz.wildcard)
        offered = {str(c.chall.typ): c for c in authz.challenges}
        for kind in kinds_for(self.solver, name, wildcard):
            challb = offered.get(kind)
            if challb is None:
                continue
            jwk = self.conn.jwk
            return Challenge(
                domain=name,
                kind=kind,
                token=challb.chall.encode("token"),
                value=challb.chall.validation(jwk),
                url=challb.uri,
                authz_url=url,
                response=challb.chall.response(jwk),
            )
        raise AcmeRejectedError(
            f"ACME offers no challenge for {name} that the solver answers "
            f"(offered: {', '.join(sorted(offered)) or 'none'})",
            identifier=name,
        )

    async def _await_authzs(self, todo: Sequence[Challenge]) -> None:
        """Poll the answered authorizations together until none is pending."""
        policy = self.poll_policy
        delay = policy.first
        hinted = [c.retry_after for c in todo if c.retry_after is not None]
        wait: float | None = max(hinted) if hinted else None
        pending = list(todo)
        for _ in range(policy.max_polls):
            if wait is None:
                wait, delay = delay, min(delay * policy.factor, policy.maximum)
            self._check_wait("authorization", "pending", wait)
            await asyncio.sleep(max(wait, 0.01))
            wait = None
            for chall in list(pending):
                reply = await self.conn.post(chall.authz_url, None, "authorization")
                body = reply.json("authorization")
                if body.get("status") in ("pending", "processing"):
                    hint = reply.retry_after(dt.datetime.now(dt.UTC))
                    if hint is not None:
                        wait = max(wait or 0.0, hint)
                    continue
                pending.remove(chall)
                self._check_authz(chall, body)
            if not pending:
                return
        raise AcmeTemporaryError(f"ACME authorization still pending after {policy.max_polls} polls")

    @staticmethod
    def _check_authz(chall: Challenge, body: dict[str, Any]) -> None:
        status = body.get("status")
        if status == "valid":
            return
        try:
            authz: messages.Authorization = messages.Authorization.from_json(body)
        except (ValueError, TypeError, KeyError, jose_errors.Error) as err:
            raise AcmeRejectedError(
                f"ACME authorization for {chall.domain} is {status}", identifier=chall.domain
            ) from err
        for challb in authz.challenges:
            if challb.error is not None:
                raise problem_error(
                    challb.error, f"{challb.chall.typ} validation", identifier=chall.domain
                )
        raise AcmeRejectedError(
            f"ACME authorization for {chall.domain} became {status}", identifier=chall.domain
        )

    async def _poll(
        self,
        url: str,
        what: str,
        done: Callable[[Mapping[str, Any]], bool],
        first_wait: float | None,
    ) -> dict[str, Any]:
        """Wait, poll, repeat until ``done``; waits follow ``Retry-After``, else back off."""
        policy = self.poll_policy
        delay = policy.first
        wait = first_wait
        status: object = "pending"
        for _ in range(policy.max_polls):
            if wait is None:
                wait, delay = delay, min(delay * policy.factor, policy.maximum)
            self._check_wait(what, status, wait)
            await asyncio.sleep(max(wait, 0.01))
            reply = await self.conn.post(url, None, what)
            body = reply.json(what)
            if done(body):
                return body
            status = body.get("status")
            wait = reply.retry_after(dt.datetime.now(dt.UTC))
        raise AcmeTemporaryError(f"ACME {what} still {status} after {policy.max_polls} polls")

    def _check_wait(self, what: str, status: object, wait: float) -> None:
        loop = asyncio.get_running_loop()
        if wait > self.poll_policy.max_retry_after or loop.time() + wait > self.deadline:
            raise AcmeTemporaryError(
                f"ACME {what} is {status}: the CA asks to poll again in {wait:.0f} s, "
                "beyond this attempt's deadline",
                retry_after=wait,
            )

    async def _finalize(
        self, order_url: str, order: messages.Order, csr: x509.CertificateSigningRequest
    ) -> str:
        request = messages.CertificateRequest(csr=csr)
        try:
            reply = await self.conn.post(order.finalize, request, "finalize")
        except AcmeRejectedError as err:
            if err.problem_type != messages.ERROR_PREFIX + "orderNotReady":
                raise
            # some CAs move the order to "ready" a moment after the last authorization
            body = await self._poll(
                order_url, "order", lambda b: b.get("status") != "pending", None
            )
            if body.get("status") != "ready":
                raise _order_failed(self._parse_order(body)) from err
            reply = await self.conn.post(order.finalize, request, "finalize")
        order = self._order(reply)
        if order.status != messages.STATUS_VALID or not order.certificate:
            body = await self._poll(
                order_url,
                "order",
                lambda b: b.get("status") not in ("ready", "processing"),
                reply.retry_after(dt.datetime.now(dt.UTC)),
            )
            order = self._parse_order(body)
        if order.status == messages.STATUS_VALID and order.certificate:
            return str(order.certificate)
        raise _order_failed(order)

    async def _download(self, url: str) -> bytes:
        reply = await self.conn.post(
            url, None, "certificate download", accept=PEM_CHAIN_CONTENT_TYPE
        )
        return reply.body

    async def cleanup(self) -> None:
        """Remove every published response; deactivate open authorizations after a failure."""
        for chall in self.challenges:
            try:
                async with asyncio.timeout(_CLEANUP_TIMEOUT):
                    await self.solver.cleanup(chall.domain, chall.kind, chall.token, chall.value)
            except (CertmgrError, TimeoutError) as err:
                logger.warning("ACME cleanup of %s %s failed: %s", chall.kind, chall.domain, err)
        if self.finished:
            return
        for url in self.authz_urls:
            try:
                async with asyncio.timeout(_CLEANUP_TIMEOUT):
                    await self._deactivate_if_pending(url)
            except (CertmgrError, TimeoutError) as err:
                logger.debug("ACME deactivation of %s failed: %s", url, err)

    async def _deactivate_if_pending(self, url: str) -> None:
        body = (await self.conn.post(url, None, "authorization")).json("authorization")
        if body.get("status") == "pending":
            update = JsonPayload({"status": "deactivated"})
            await self.conn.post(url, update, "deactivate authorization")


def _order_failed(order: messages.Order) -> AcmeTemporaryError | AcmeRejectedError:
    if order.error is not None:
        return problem_error(order.error, "order")
    return AcmeRejectedError(f"ACME order became {order.status} without a certificate")


def _split_chain(fullchain: bytes, csr: x509.CertificateSigningRequest) -> tuple[bytes, bytes]:
    try:
        certs = x509.load_pem_x509_certificates(fullchain)
    except (ValueError, x509.InvalidVersion) as err:
        raise AcmeRejectedError("ACME certificate download: not a PEM certificate chain") from err
    leaf = certs[0]
    pem = serialization.Encoding.PEM
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(pem, spki) != csr.public_key().public_bytes(pem, spki):
        raise AcmeRejectedError("ACME issued a certificate for a different key than the CSR's")
    return leaf.public_bytes(pem), b"".join(c.public_bytes(pem) for c in certs[1:])
