"""ACME (RFC 8555) acquisition: accounts, orders, renewal information (RFC 9773), solvers.

Public surface (requests run on the event loop through aiohttp; the ``acme`` library supplies
messages and JWS)::

    register_account(spec) -> AccountRecord
    obtain_certificate(account, csr_pem, *, challenge, profile, replaces, timeout) -> AcmeResult
    renewal_info(source, cert) -> RenewalWindow | None
    directory_features(url) -> DirectoryFeatures(has_ari, profiles)
    Http01Responder, Dns01Rfc2136Solver, CombinedSolver   (ChallengeSolver protocol)

Errors: :class:`AcmeTemporaryError` (a ``TemporaryUpstreamError``: retry later, maybe after
``retry_after``), :class:`AcmeRejectedError` (an ``UpstreamRejectedError``: the CA's problem
type and detail are in the message and on the error), ``ValidationError`` for bad input.
"""

from __future__ import annotations

import asyncio
import binascii
import datetime as dt
import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from acme import messages
from cryptography import x509

from certmgr.controller.issuers._acme_net import AcmeConnection
from certmgr.controller.issuers._acme_order import AcmeResult, OrderRun, PollPolicy
from certmgr.controller.issuers._acme_payload import DirectoryFeatures, features_of
from certmgr.controller.issuers._acme_pool import AcmeConnections
from certmgr.controller.issuers.acme_ari import (
    DEFAULT_RETRY_AFTER,
    RenewalWindow,
    ari_cert_id,
    parse_renewal_info,
)
from certmgr.controller.issuers.acme_dns01 import Dns01Rfc2136Solver
from certmgr.controller.issuers.acme_errors import AcmeRejectedError, AcmeTemporaryError
from certmgr.controller.issuers.acme_solvers import (
    DNS_01,
    HTTP_01,
    ChallengeSolver,
    CombinedSolver,
    Http01Responder,
)
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import (
    KeyType,
    generate_private_key,
    load_csr,
    private_key_from_pkcs8_der,
    private_key_to_pkcs8_der,
)
from certmgr.shared.secret import Secret

__all__ = [
    "DNS_01",
    "HTTP_01",
    "AccountRecord",
    "AcmeAccountSpec",
    "AcmeConnections",
    "AcmeRejectedError",
    "AcmeResult",
    "AcmeTemporaryError",
    "ChallengeSolver",
    "CombinedSolver",
    "DirectoryFeatures",
    "Dns01Rfc2136Solver",
    "Http01Responder",
    "PollPolicy",
    "RenewalWindow",
    "ari_cert_id",
    "directory_features",
    "obtain_certificate",
    "register_account",
    "renewal_info",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_REQUEST_TIMEOUT = 15.0  # RECIPES: keep client timeouts at 15 s or less
_DEFAULT_POLL = PollPolicy()


@dataclass(frozen=True)
class AcmeAccountSpec:
    """What it takes to open an ACME account.

    Attributes:
        directory_url: The CA's directory URL.
        contact_email: Contact address given to the CA (optional for most CAs).
        eab_kid: External account binding key id, when the CA requires EAB.
        eab_hmac_key: The EAB HMAC key exactly as the CA hands it out (base64url text).
        ca_bundle_pem: Extra CA certificates to trust for the directory's HTTPS.
        profile: Default certificate profile for orders on this account.
    """

    directory_url: str
    contact_email: str | None = None
    eab_kid: str | None = None
    eab_hmac_key: Secret[str] | Secret[bytes] | str | bytes | None = field(default=None, repr=False)
    ca_bundle_pem: bytes | None = field(default=None, repr=False)
    profile: str | None = None


@dataclass(frozen=True)
class AccountRecord:
    """A registered ACME account; seal ``key_pkcs8`` with the master key before storing it.

    Attributes:
        directory_url: The CA's directory URL.
        account_url: The account's URL (its ``kid``).
        key_pkcs8: The account private key, DER PKCS#8.
        contact_email: Contact address given at registration.
        ca_bundle_pem: Extra CA certificates to trust for the directory's HTTPS.
        profile: Default certificate profile for orders.
        status: The account status the CA reported.
        eab_kid: The EAB key id used at registration (None without EAB).
    """

    directory_url: str
    account_url: str
    key_pkcs8: Secret[bytes] = field(repr=False)
    contact_email: str | None = None
    ca_bundle_pem: bytes | None = field(default=None, repr=False)
    profile: str | None = None
    status: str = "valid"
    eab_kid: str | None = None


_EAB_KEY_TEXT = re.compile(r"^[A-Za-z0-9_-]{16,}={0,2}$")


def _eab_hmac_text(value: Secret[str] | Secret[bytes] | str | bytes) -> str:
    """The EAB HMAC key as base64url text (standard base64 is accepted and converted)."""
    raw = value.reveal() if isinstance(value, Secret) else value
    try:
        text = raw.decode("ascii") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        text = ""
    text = text.strip().replace("+", "-").replace("/", "_")
    if not _EAB_KEY_TEXT.match(text):
        # no chained exception: it could quote the key
        raise ValidationError(
            "the EAB HMAC key must be the base64url text the CA issued", field="eab_hmac_key"
        )
    return text.rstrip("=")


def _external_binding(
    spec: AcmeAccountSpec, conn: AcmeConnection, directory: messages.Directory
) -> dict[str, object] | None:
    if spec.eab_kid is None and spec.eab_hmac_key is None:
        return None
    if not spec.eab_kid or spec.eab_hmac_key is None:
        raise ValidationError("EAB needs both a key id and an HMAC key", field="eab_kid")
    hmac_text = _eab_hmac_text(spec.eab_hmac_key)
    if conn.jwk is None:  # pragma: no cover - the connection was built with the key
        raise ValidationError("EAB needs the account key", field="eab_kid")
    try:
        binding: dict[str, object] = messages.ExternalAccountBinding.from_data(
            account_public_key=conn.jwk.public_key(),
            kid=spec.eab_kid,
            hmac_key=hmac_text,
            directory=directory,
        )
    except (binascii.Error, ValueError):
        raise ValidationError(
            "the EAB HMAC key must be the base64url text the CA issued", field="eab_hmac_key"
        ) from None  # the library's message could quote the key
    return binding


def _account_connection(
    spec: AcmeAccountSpec, key_der: bytes, request_timeout: float
) -> AcmeConnection:
    # parsing the key and a first CA bundle takes milliseconds: called in a worker thread
    return AcmeConnection(
        spec.directory_url,
        key=private_key_from_pkcs8_der(key_der),
        ca_bundle_pem=spec.ca_bundle_pem,
        request_timeout=request_timeout,
    )


async def _register(spec: AcmeAccountSpec, key_der: bytes, request_timeout: float) -> str:
    conn = await asyncio.to_thread(_account_connection, spec, key_der, request_timeout)
    try:
        directory = await conn.directory()
        registration = messages.NewRegistration.from_data(
            email=spec.contact_email,
            terms_of_service_agreed=True,
            external_account_binding=_external_binding(spec, conn, directory),
        )
        reply = await conn.post(directory["newAccount"], registration, "newAccount")
        status = reply.json("newAccount").get("status", "valid")
        if not reply.location:
            raise AcmeRejectedError("ACME newAccount: the CA sent no account URL")
        if status != "valid":
            raise AcmeRejectedError(f"ACME newAccount: the account is {status}")
        return reply.location
    finally:
        await conn.close()


async def _within(seconds: float, what: str, step: Awaitable[T]) -> T:
    """Await ``step`` under an overall timeout."""
    try:
        async with asyncio.timeout(seconds):
            return await step
    except TimeoutError as err:
        raise AcmeTemporaryError(f"ACME {what} did not finish within {seconds:g} s") from err


async def register_account(
    spec: AcmeAccountSpec,
    *,
    key_type: KeyType = KeyType.EC_P256,
    timeout: float = 30.0,  # noqa: ASYNC109 - the contract names it; applied with asyncio.timeout
) -> AccountRecord:
    """Create a new ACME account (agreeing to the CA's terms of service).

    Args:
        spec: Directory, contact, EAB and trust settings.
        key_type: The account key type (EC P-256 signs with ES256).
        timeout: Overall seconds for the whole registration.

    Returns:
        The account, with its new private key (seal it before storing).

    Raises:
        ValidationError: Bad URL, EAB settings or CA bundle.
        AcmeTemporaryError: The CA is unreachable, timed out or failed temporarily.
        AcmeRejectedError: The CA refused (e.g. ``externalAccountRequired``, ``unauthorized``
            for a wrong EAB key); the CA's detail is in the message.
    """
    key = await asyncio.to_thread(generate_private_key, key_type)
    key_der = private_key_to_pkcs8_der(key)
    request_timeout = min(DEFAULT_REQUEST_TIMEOUT, timeout)
    account_url = await _within(timeout, "newAccount", _register(spec, key_der, request_timeout))
    logger.info("ACME account registered at %s", account_url)
    return AccountRecord(
        directory_url=spec.directory_url,
        account_url=account_url,
        key_pkcs8=Secret(key_der),
        contact_email=spec.contact_email,
        ca_bundle_pem=spec.ca_bundle_pem,
        profile=spec.profile,
        eab_kid=spec.eab_kid,
    )


async def obtain_certificate(
    account: AccountRecord,
    csr_pem: bytes,
    *,
    challenge: ChallengeSolver,
    profile: str | None = None,
    replaces: str | None = None,
    timeout: float = 120.0,  # noqa: ASYNC109 - also bounds each request and Retry-After waits
    poll: PollPolicy = _DEFAULT_POLL,
    connections: AcmeConnections | None = None,
) -> AcmeResult:
    """Order, validate and download a certificate for a CSR.

    Every challenge response the solver published is removed again, and after a failure the
    order's still-pending authorizations are deactivated.

    Args:
        account: The account to order with.
        csr_pem: The CSR (PEM or DER); its SANs (and CN) are the order's identifiers.
        challenge: The solver that publishes challenge responses (wildcards need DNS-01).
        profile: Certificate profile (default: the account's); sent only when the CA lists it.
        replaces: ARI id of the certificate this one replaces; sent only when the CA has ARI.
        timeout: Overall seconds for the whole order.
        poll: Polling intervals when the CA sends no ``Retry-After``.
        connections: Kept-open connections to borrow from (a run of many orders); without,
            the order opens its own connection and closes it afterwards.

    Returns:
        The leaf, its chain and the order's URLs.

    Raises:
        ValidationError: Bad CSR, unknown profile, malformed ``replaces`` or a name the
            solver cannot validate.
        AcmeTemporaryError: Unreachable CA, timeout, rate limit (``retry_after`` set when the
            CA said), badNonce after retries, server errors.
        AcmeRejectedError: The CA refused: failed validation, unauthorized, rejected identifier;
            the message carries the CA's own detail.
        UpstreamError: The solver could not publish a response.
    """
    csr = load_csr(csr_pem, "CSR")
    # without a pool of kept connections: one connection for this order, closed after it
    pool = connections or AcmeConnections(max_idle=0)
    loop = asyncio.get_running_loop()
    async with pool.borrow(account, min(DEFAULT_REQUEST_TIMEOUT, timeout)) as conn:
        run = OrderRun(conn, challenge, poll, loop.time() + timeout)
        try:
            async with asyncio.timeout(timeout):
                result = await run.run(csr, profile=profile or account.profile, replaces=replaces)
        except TimeoutError as err:
            raise AcmeTemporaryError(f"ACME order did not finish within {timeout:g} s") from err
        finally:
            await run.cleanup()
    logger.info(
        "ACME issued a certificate for %s (%s)", ", ".join(result.identifiers), result.order_url
    )
    return result


async def directory_features(
    directory_url: str,
    *,
    ca_bundle_pem: bytes | None = None,
    timeout: float = 15.0,  # noqa: ASYNC109 - applied with asyncio.timeout
) -> DirectoryFeatures:
    """Whether a CA offers ARI (``renewalInfo``) and which profiles it lists.

    Raises:
        ValidationError: Malformed URL or CA bundle.
        AcmeTemporaryError: Unreachable or failing CA.
        AcmeRejectedError: Not an ACME directory.
    """
    conn = await asyncio.to_thread(
        AcmeConnection,
        directory_url,
        ca_bundle_pem=ca_bundle_pem,
        request_timeout=min(DEFAULT_REQUEST_TIMEOUT, timeout),
    )
    try:
        directory = await _within(timeout, "directory", conn.directory())
    finally:
        await conn.close()
    return features_of(directory)


def _load_cert(cert: x509.Certificate | bytes) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    try:
        if b"-----BEGIN" in cert:
            return x509.load_pem_x509_certificate(cert)
        return x509.load_der_x509_certificate(cert)
    except (ValueError, x509.InvalidVersion) as err:
        raise ValidationError("not a certificate", field="certificate") from err


async def renewal_info(
    source: AccountRecord | AcmeAccountSpec | str,
    cert: x509.Certificate | bytes,
    *,
    ca_bundle_pem: bytes | None = None,
    timeout: float = 15.0,  # noqa: ASYNC109 - applied with asyncio.timeout
    clock: Clock | None = None,
) -> RenewalWindow | None:
    """The CA's suggested renewal window for a certificate (RFC 9773 ARI).

    An expired certificate is not asked about (RFC 9773 §4.3): its window is its expiry, i.e.
    renew now.

    Args:
        source: An account, an account spec, or a directory URL.
        cert: The certificate (object, PEM or DER).
        ca_bundle_pem: Extra trust for the CA's HTTPS (default: the source's).
        timeout: Overall seconds.
        clock: Time source (default: the system clock).

    Returns:
        The window, or None when the CA offers no ARI.

    Raises:
        ValidationError: Not a certificate, or (for a CA with ARI) one without an authority
            key identifier.
        AcmeTemporaryError: Unreachable or failing CA.
        AcmeRejectedError: The CA refused (e.g. it does not know the certificate) or sent a
            malformed window.
    """
    now = (clock or SystemClock()).now()
    certificate = _load_cert(cert)
    if certificate.not_valid_after_utc <= now:
        expiry = certificate.not_valid_after_utc
        return RenewalWindow(start=expiry, end=expiry, retry_after=DEFAULT_RETRY_AFTER)
    url = source if isinstance(source, str) else source.directory_url
    trust = ca_bundle_pem or (None if isinstance(source, str) else source.ca_bundle_pem)
    conn = await asyncio.to_thread(
        AcmeConnection,
        url,
        ca_bundle_pem=trust,
        request_timeout=min(DEFAULT_REQUEST_TIMEOUT, timeout),
    )

    async def fetch() -> tuple[dict[str, object], float | None] | None:
        directory = await conn.directory()
        if not features_of(directory).has_ari:
            return None
        cert_id = ari_cert_id(certificate)
        base = str(directory["renewalInfo"]).rstrip("/")
        reply = await conn.get(f"{base}/{cert_id}", "renewalInfo")
        return reply.json("renewalInfo"), reply.retry_after(dt.datetime.now(dt.UTC))

    try:
        fetched = await _within(timeout, "renewalInfo", fetch())
    finally:
        await conn.close()
    if fetched is None:
        return None
    body, retry_after = fetched
    return parse_renewal_info(body, retry_after)
