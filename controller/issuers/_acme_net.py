"""Blocking ACME transport: signed requests through ``acme.client.ClientNetwork``, error translation.

Everything here blocks (``requests``); callers run it through ``asyncio.to_thread``. One
:class:`AcmeConnection` serves one sequence of requests (one registration, one order); a lock
keeps its nonce pool and HTTP session to one request at a time.

Errors leave this module only as certmgr errors: ``AcmeTemporaryError`` and
``AcmeRejectedError`` (see ``acme_errors``), ``ValidationError`` for a malformed URL or bundle.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from acme import client as acme_client
from acme import errors as acme_errors
from acme import messages
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from josepy import errors as jose_errors
from josepy import interfaces as jose_interfaces
from josepy import jwa, jwk
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from certmgr.controller.issuers.acme_errors import (
    AcmeRejectedError,
    AcmeTemporaryError,
    clean_text,
    parse_retry_after,
    problem_error,
)
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import PrivateKey

logger = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = "certmgr-acme"
JOSE_CONTENT_TYPE = "application/jose+json"
PEM_CHAIN_CONTENT_TYPE = "application/pem-certificate-chain"
_BAD_NONCE_ATTEMPTS = 4  # each ClientNetwork.post already retries a badNonce once
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_INVALID_URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)


def check_directory_url(url: str) -> None:
    """Refuse directory URLs that are not HTTPS (plain HTTP only on loopback, for test CAs).

    Raises:
        ValidationError: Not an https:// URL with a host.
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname
    except ValueError as err:
        raise ValidationError("not a URL", field="directory_url") from err
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host in _LOOPBACK_HOSTS:
        return
    raise ValidationError(
        "ACME directory URLs must be https:// (plain http:// only on loopback)",
        field="directory_url",
    )


def _cert_verification_failed(err: BaseException) -> bool:
    """True when ``ssl.SSLCertVerificationError`` hides somewhere in a requests error."""
    seen: set[int] = set()
    todo: list[object] = [err]
    while todo:
        item = todo.pop()
        if id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return True
        todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return False


def account_jwk(key: PrivateKey) -> tuple[jwk.JWK, jwa.JWASignature]:
    """The JWK and JWS algorithm for an account key.

    Raises:
        ValidationError: A key type ACME accounts cannot use here.
    """
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": jwa.ES256, "secp384r1": jwa.ES384, "secp521r1": jwa.ES512}
        alg = algs.get(key.curve.name)
        if alg is not None:
            return jwk.JWKEC(key=key), alg
    if isinstance(key, rsa.RSAPrivateKey):
        return jwk.JWKRSA(key=key), jwa.RS256
    raise ValidationError("ACME account keys must be RSA or EC P-256/384/521", field="account_key")


@functools.lru_cache(maxsize=16)
def _tls_context(ca_bundle_pem: bytes | None) -> ssl.SSLContext:
    """The default trust (``requests``' bundle) plus ``ca_bundle_pem``; built once per bundle.

    Loading a CA bundle costs tens of milliseconds, which ``requests`` would otherwise pay
    for every session and every new connection.
    """
    context = ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
    if ca_bundle_pem:
        try:
            context.load_verify_locations(cadata=ca_bundle_pem.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as err:
            raise ValidationError(
                "the extra CA bundle is not PEM certificates", field="ca_bundle_pem"
            ) from err
    return context


class _TrustAdapter(HTTPAdapter):
    """An HTTPS adapter whose verification comes from one prepared ``SSLContext``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # the context already holds the trust anchors; verification stays required
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None


class _Session(requests.Session):
    """A ``requests`` session that reads the environment's settings (proxies) once per host.

    ``requests`` reads them on every request, which costs more than the request itself to a
    CA on a fast network; they do not change while a connection is open.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[str, str], dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if proxies or stream is not None or cert is not None or verify is not True:
            return dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
        parts = urllib.parse.urlsplit(str(url))
        where = (parts.scheme, parts.netloc)
        settings = self._environment.get(where)
        if settings is None:
            settings = dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
            self._environment[where] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


@dataclass(frozen=True)
class Reply:
    """What came back from one ACME request (decoupled from ``requests``)."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    url: str

    def json(self, what: str) -> dict[str, Any]:
        """The body as a JSON object.

        Raises:
            AcmeRejectedError: Not a JSON object.
        """
        try:
            value = json.loads(self.body)
        except ValueError as err:
            raise AcmeRejectedError(f"ACME {what}: the CA sent a reply that is not JSON") from err
        if not isinstance(value, dict):
            raise AcmeRejectedError(f"ACME {what}: the CA sent JSON that is not an object")
        return value

    @property
    def location(self) -> str | None:
        """The ``Location`` header."""
        return self.headers.get("location")

    def retry_after(self, now: dt.datetime) -> float | None:
        """Seconds from ``Retry-After``, None when absent."""
        return parse_retry_after(self.headers.get("retry-after"), now)


class AcmeConnection:
    """One client's blocking conversation with one ACME directory.

    Args:
        directory_url: The CA's directory URL.
        key: The account key (needed for POSTs), or None for GETs only.
        account_url: The account's URL (the JWS ``kid``), None before registration.
        ca_bundle_pem: Extra CA certificates to trust for the CA's HTTPS.
        request_timeout: Seconds for each HTTP request.

    Raises:
        ValidationError: A directory URL that is not HTTPS, a bad CA bundle or key type.
    """

    def __init__(
        self,
        directory_url: str,
        *,
        key: PrivateKey | None = None,
        account_url: str | None = None,
        ca_bundle_pem: bytes | None = None,
        request_timeout: float = 15.0,
    ) -> None:
        check_directory_url(directory_url)
        self.directory_url = directory_url.strip()
        jwk, alg = account_jwk(key) if key is not None else (None, jwa.RS256)
        self.jwk = jwk
        self._net = acme_client.ClientNetwork(
            key=jwk,
            alg=alg,
            user_agent=USER_AGENT,
            timeout=max(1, math.ceil(request_timeout)),
        )
        self._net.session.close()
        self._net.session = _Session()
        self._net.session.mount("http://", HTTPAdapter())
        self._net.session.mount("https://", _TrustAdapter(_tls_context(ca_bundle_pem or None)))
        self._net.session.hooks["response"].append(self._remember)
        self._last: Any = None
        self._lock = threading.Lock()
        self._directory: messages.Directory | None = None
        if account_url is not None:
            self.set_account(account_url)

    def _remember(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._last = response

    def set_account(self, account_url: str) -> None:
        """Sign later requests with ``kid`` = ``account_url``."""
        self._net.account = messages.RegistrationResource(
            uri=account_url, body=messages.Registration()
        )

    def close(self) -> None:
        """Close the HTTP session."""
        self._net.session.close()

    @property
    def directory(self) -> messages.Directory:
        """The directory (fetched once).

        Raises:
            AcmeTemporaryError: The CA cannot be reached or failed.
            AcmeRejectedError: The URL does not serve an ACME directory.
            ValidationError: The URL is malformed.
        """
        if self._directory is None:
            reply = self.get(self.directory_url, "directory")
            body = reply.json("directory")
            missing = [k for k in ("newNonce", "newAccount", "newOrder") if k not in body]
            if missing:
                raise AcmeRejectedError(
                    f"{self.directory_url} is not an ACME directory (no {', '.join(missing)})"
                )
            try:
                self._directory = messages.Directory.from_json(body)
            except (jose_errors.Error, ValueError, TypeError) as err:
                raise AcmeRejectedError(
                    f"the ACME directory at {self.directory_url} is malformed"
                ) from err
        return self._directory

    def get(self, url: str, what: str) -> Reply:
        """An unauthenticated GET (directory, renewalInfo).

        Raises:
            AcmeTemporaryError: Unreachable, timed out, 5xx or a temporary problem.
            AcmeRejectedError: Any other error reply.
            ValidationError: The URL is malformed.
        """
        response = self._call(what, lambda: self._net.get(url))
        return self._reply(response)

    def post(
        self,
        url: str,
        payload: jose_interfaces.JSONDeSerializable | None,
        what: str,
        *,
        accept: str | None = None,
    ) -> Reply:
        """A JWS-signed POST (``payload=None`` is POST-as-GET); badNonce is retried.

        Raises:
            AcmeTemporaryError: Unreachable, timed out, 5xx or a temporary problem.
            AcmeRejectedError: Any other ACME problem.
        """
        headers = {"Content-Type": JOSE_CONTENT_TYPE}
        if accept is not None:
            headers["Accept"] = accept
        new_nonce_url = self.directory["newNonce"]

        def send() -> Any:
            return self._net.post(url, payload, new_nonce_url=new_nonce_url, headers=headers)

        for attempt in range(1, _BAD_NONCE_ATTEMPTS + 1):
            try:
                response = self._call(what, send)
            except AcmeTemporaryError as err:
                if err.problem_type != messages.ERROR_PREFIX + "badNonce":
                    raise
                if attempt == _BAD_NONCE_ATTEMPTS:
                    raise
                logger.debug("ACME %s: badNonce, retrying (attempt %d)", what, attempt)
                continue
            return self._reply(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _reply(self, response: Any) -> Reply:
        return Reply(
            status=int(response.status_code),
            headers={str(k).lower(): str(v) for k, v in response.headers.items()},
            body=bytes(response.content),
            url=str(response.url),
        )

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        # a request abandoned by a timed-out caller may still run while cleanup starts the next
        with self._lock:
            return self._call_locked(what, fn)

    def _call_locked(self, what: str, fn: Callable[[], T]) -> T:
        self._last = None
        try:
            return fn()
        except messages.Error as err:
            status, retry_after = self._last_status()
            raise problem_error(err, what, status=status, retry_after=retry_after) from err
        except acme_errors.MissingNonce as err:
            raise AcmeRejectedError(
                f"ACME {what}: the server sent no Replay-Nonce (is {self.directory_url} an ACME CA?)"
            ) from err
        except acme_errors.ClientError as err:
            status, retry_after = self._last_status()
            message = f"ACME {what}: unexpected reply" + (f" HTTP {status}" if status else "")
            if status is not None and status < 400:
                message += " that is not ACME JSON (is this an ACME CA?)"
            if status is not None and (status >= 500 or status == 429):
                raise AcmeTemporaryError(message, retry_after=retry_after) from err
            raise AcmeRejectedError(message) from err
        except acme_errors.Error as err:
            raise AcmeTemporaryError(f"ACME {what}: {clean_text(str(err), 200)}") from err
        except _INVALID_URL_ERRORS as err:
            raise ValidationError(
                f"not a usable ACME URL: {clean_text(str(err), 200)}", field="directory_url"
            ) from err
        except requests.exceptions.RequestException as err:
            raise self._network_error(what, err) from err
        except (jose_errors.Error, ValueError, KeyError, TypeError) as err:
            raise AcmeRejectedError(f"ACME {what}: the CA sent a malformed reply") from err

    def _last_status(self) -> tuple[int | None, float | None]:
        if self._last is None:
            return None, None
        now = dt.datetime.now(dt.UTC)
        retry = parse_retry_after(self._last.headers.get("Retry-After"), now)
        return int(self._last.status_code), retry

    def _network_error(self, what: str, err: Exception) -> AcmeTemporaryError | AcmeRejectedError:
        if _cert_verification_failed(err):
            return AcmeRejectedError(
                f"ACME {what}: the CA's HTTPS certificate is not trusted "
                f"({self.directory_url}); add its CA to the account's CA bundle"
            )
        kind = "timed out" if isinstance(err, requests.exceptions.Timeout) else "unreachable"
        return AcmeTemporaryError(f"ACME {what}: the CA at {self.directory_url} is {kind}")


class JsonPayload(jose_interfaces.JSONDeSerializable):
    """A plain JSON object sent as a JWS payload (for fields the ``acme`` messages lack)."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = dict(body)

    def to_partial_json(self) -> dict[str, Any]:
        """The object itself."""
        return self.body

    @classmethod
    def from_json(cls, jobj: Any) -> JsonPayload:
        """Wrap a decoded JSON object."""
        return cls(jobj)
