"""ACME transport on aiohttp: JWS-signed requests, nonces, error translation.

No threads: requests run on the event loop through one ``aiohttp`` session per
:class:`AcmeConnection` (one kept-alive HTTPS connection to the CA, TLS verified against the
default trust plus the account's extra CA bundle). One connection serves one sequence of
requests (one registration, one order); a lock keeps its nonce pool to one request at a time.
A ``badNonce`` reply is answered with a fresh nonce, at most :data:`BAD_NONCE_ATTEMPTS` tries.

Errors leave this module only as certmgr errors: ``AcmeTemporaryError`` and
``AcmeRejectedError`` (see ``acme_errors``), ``ValidationError`` for a malformed URL or bundle.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import json
import logging
import re
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import aiohttp
import aiohttp.helpers
import yarl
from acme import messages
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from josepy import errors as jose_errors
from josepy import interfaces as jose_interfaces
from josepy import jwa, jwk
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

USER_AGENT = "certmgr-acme"
JOSE_CONTENT_TYPE = "application/jose+json"
PEM_CHAIN_CONTENT_TYPE = "application/pem-certificate-chain"
BAD_NONCE_ATTEMPTS = 8
"""Tries of one POST while the CA answers ``badNonce`` (each with the nonce its refusal sent)."""
_MAX_NONCES = 16
_BAD_NONCE = messages.ERROR_PREFIX + "badNonce"
_NONCE_TEXT = re.compile(r"^[A-Za-z0-9_-]+$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


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
    """True when ``ssl.SSLCertVerificationError`` hides somewhere in a transport error."""
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class _Signer:
    """Flattened JWS (RFC 7515) with an account key, as RFC 8555 §6.2 asks.

    The protected header carries ``alg``, ``nonce``, ``url`` and either ``kid`` (the account
    URL) or, before registration, ``jwk`` (the public key). ES256/384/512 signatures are the
    fixed-size ``r || s`` pair (RFC 7518 §3.4), RS256 is PKCS#1 v1.5 with SHA-256.
    """

    def __init__(self, key: PrivateKey, public: jwk.JWK, alg: jwa.JWASignature) -> None:
        self._key = key
        self._alg = alg.name
        self._jwk = public.public_key().to_partial_json()
        self._size = 0
        if isinstance(key, ec.EllipticCurvePrivateKey):
            self._size = (key.curve.key_size + 7) // 8
            digest: dict[str, hashes.HashAlgorithm] = {
                "ES256": hashes.SHA256(),
                "ES384": hashes.SHA384(),
                "ES512": hashes.SHA512(),
            }
            self._ecdsa = ec.ECDSA(digest[self._alg])

    def sign(self, payload: bytes, nonce: str, url: str, kid: str | None) -> bytes:
        header: dict[str, Any] = {"alg": self._alg, "nonce": nonce, "url": url}
        if kid is not None:
            header["kid"] = kid
        else:
            header["jwk"] = self._jwk
        protected = _b64(json.dumps(header, separators=(",", ":")).encode())
        body = _b64(payload)
        signing_input = f"{protected}.{body}".encode("ascii")
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self._key.sign(signing_input, self._ecdsa))
            signature = r.to_bytes(self._size, "big") + s.to_bytes(self._size, "big")
        elif isinstance(self._key, rsa.RSAPrivateKey):
            signature = self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:  # pragma: no cover - account_jwk refused other key types
            raise ValidationError("unsupported ACME account key", field="account_key")
        jws = {"protected": protected, "payload": body, "signature": _b64(signature)}
        return json.dumps(jws, separators=(",", ":")).encode()


@functools.lru_cache(maxsize=16)
def _tls_context(ca_bundle_pem: bytes | None) -> ssl.SSLContext:
    """The default trust (``requests``' bundle) plus ``ca_bundle_pem``; built once per bundle.

    Loading a CA bundle costs tens of milliseconds; connections share the prepared context.
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


class _Proxy(NamedTuple):
    url: str | None
    auth: aiohttp.BasicAuth | None


@dataclass(frozen=True)
class Reply:
    """What came back from one ACME request (decoupled from the HTTP library)."""

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
    """One client's conversation with one ACME directory (use on one event loop).

    Constructing it parses nothing from the network (the HTTP session opens at the first
    request); build it in a worker thread when the CA bundle may not have been loaded yet.

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
        self.jwk: jwk.JWK | None = None
        self._signer: _Signer | None = None
        if key is not None:
            self.jwk, alg = account_jwk(key)
            self._signer = _Signer(key, self.jwk, alg)
        self._tls = _tls_context(ca_bundle_pem or None)
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        # the environment's proxy settings, read once per host (here for the directory's host:
        # a pool builds connections in a worker thread, and reading them reads ~/.netrc)
        self._proxies: dict[tuple[str, str], _Proxy] = {}
        self._proxy_for(self.directory_url)
        self._kid = account_url
        self._nonces: list[str] = []
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._directory: messages.Directory | None = None

    def set_account(self, account_url: str) -> None:
        """Sign later requests with ``kid`` = ``account_url``."""
        self._kid = account_url

    async def close(self) -> None:
        """Close the HTTP session (and its kept-alive connection)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._tls, limit=2),
                timeout=self._timeout,
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    def _proxy_for(self, url: str) -> _Proxy:
        """The proxy (and its credentials) the environment names for ``url``'s host, if any."""
        parts = urllib.parse.urlsplit(url)
        where = (parts.scheme, parts.netloc)
        found = self._proxies.get(where)
        if found is None:
            try:
                proxy, auth = aiohttp.helpers.get_env_proxy_for_url(yarl.URL(url))
                found = _Proxy(str(proxy), auth)
            except (LookupError, ValueError):
                found = _Proxy(None, None)
            self._proxies[where] = found
        return found

    async def directory(self) -> messages.Directory:
        """The directory (fetched once).

        Raises:
            AcmeTemporaryError: The CA cannot be reached or failed.
            AcmeRejectedError: The URL does not serve an ACME directory.
            ValidationError: The URL is malformed.
        """
        if self._directory is None:
            reply = await self.get(self.directory_url, "directory")
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

    async def get(self, url: str, what: str) -> Reply:
        """An unauthenticated GET (directory, renewalInfo); the reply must be JSON.

        Raises:
            AcmeTemporaryError: Unreachable, timed out, 5xx or a temporary problem.
            AcmeRejectedError: Any other error reply.
            ValidationError: The URL is malformed.
        """
        async with self._lock:
            reply = await self._send("GET", url, what)
        _check(reply, what, want_json=True)
        return reply

    async def post(
        self,
        url: str,
        payload: jose_interfaces.JSONDeSerializable | None,
        what: str,
        *,
        accept: str | None = None,
    ) -> Reply:
        """A JWS-signed POST (``payload=None`` is POST-as-GET); badNonce is retried.

        Raises:
            AcmeTemporaryError: Unreachable, timed out, 5xx or a temporary problem (a
                ``badNonce`` after :data:`BAD_NONCE_ATTEMPTS` tries).
            AcmeRejectedError: Any other ACME problem.
        """
        if self._signer is None:
            raise ValidationError("ACME POSTs need the account key", field="account_key")
        new_nonce_url = str((await self.directory())["newNonce"])
        headers = {"Content-Type": JOSE_CONTENT_TYPE}
        if accept is not None:
            headers["Accept"] = accept
        content = payload.json_dumps().encode() if payload is not None else b""
        async with self._lock:
            for attempt in range(1, BAD_NONCE_ATTEMPTS + 1):
                nonce = await self._nonce(new_nonce_url, what)
                data = self._signer.sign(content, nonce, url, self._kid)
                reply = await self._send("POST", url, what, data=data, headers=headers)
                fresh = self._keep_nonce(reply)  # an error reply's nonce is good too (§6.5)
                try:
                    _check(reply, what)
                except AcmeTemporaryError as err:
                    if err.problem_type != _BAD_NONCE or attempt == BAD_NONCE_ATTEMPTS:
                        raise
                    logger.debug("ACME %s: badNonce, retrying (attempt %d)", what, attempt)
                    continue
                if not fresh:
                    raise self._missing_nonce(what)
                return reply
        raise AssertionError("unreachable")  # pragma: no cover

    async def _nonce(self, new_nonce_url: str, what: str) -> str:
        if self._nonces:
            return self._nonces.pop()
        reply = await self._send("HEAD", new_nonce_url, what)
        _check(reply, what)
        if not self._keep_nonce(reply):
            raise self._missing_nonce(what)
        return self._nonces.pop()

    def _keep_nonce(self, reply: Reply) -> bool:
        """Keep the reply's ``Replay-Nonce``; False when it sent none (or one not base64url)."""
        nonce = reply.headers.get("replay-nonce", "")
        if not _NONCE_TEXT.match(nonce):
            return False
        if len(self._nonces) < _MAX_NONCES:
            self._nonces.append(nonce)
        return True

    def _missing_nonce(self, what: str) -> AcmeRejectedError:
        return AcmeRejectedError(
            f"ACME {what}: the server sent no Replay-Nonce (is {self.directory_url} an ACME CA?)"
        )

    async def _send(self, method: str, url: str, what: str, **kwargs: Any) -> Reply:
        parts = urllib.parse.urlsplit(url)
        proxy = self._proxies.get((parts.scheme, parts.netloc))
        if proxy is None:  # a host other than the directory's: read the settings off the loop
            proxy = await asyncio.to_thread(self._proxy_for, url)
        try:
            async with self._http().request(
                method,
                url,
                allow_redirects=method != "HEAD",
                proxy=proxy.url,
                proxy_auth=proxy.auth,
                **kwargs,
            ) as response:
                body = await response.read()
                headers: dict[str, str] = {}
                for name, value in response.headers.items():
                    key = name.lower()
                    headers[key] = f"{headers[key]}, {value}" if key in headers else value
                return Reply(response.status, headers, body, str(response.url))
        except aiohttp.InvalidURL as err:
            raise ValidationError(
                f"not a usable ACME URL: {clean_text(str(err), 200)}", field="directory_url"
            ) from err
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            # (certificate errors are ValueErrors too: they come here first)
            raise self._network_error(what, err) from err
        except ValueError as err:  # a URL aiohttp cannot request
            raise ValidationError(
                f"not a usable ACME URL: {clean_text(str(err), 200)}", field="directory_url"
            ) from err

    def _network_error(self, what: str, err: Exception) -> AcmeTemporaryError | AcmeRejectedError:
        if _cert_verification_failed(err):
            return AcmeRejectedError(
                f"ACME {what}: the CA's HTTPS certificate is not trusted "
                f"({self.directory_url}); add its CA to the account's CA bundle"
            )
        timed_out = isinstance(err, TimeoutError | aiohttp.ServerTimeoutError)
        kind = "timed out" if timed_out else "unreachable"
        return AcmeTemporaryError(f"ACME {what}: the CA at {self.directory_url} is {kind}")


def _check(reply: Reply, what: str, *, want_json: bool = False) -> None:
    """Raise the certmgr error for an error reply (a problem document, or not ACME at all).

    Raises:
        AcmeTemporaryError: 5xx, 429 or a temporary problem (``badNonce``, ``rateLimited``).
        AcmeRejectedError: Any other error reply; with ``want_json`` also a reply that is not JSON.
    """
    try:
        jobj = json.loads(reply.body)
    except ValueError:
        jobj = None
    status = reply.status
    retry_after = reply.retry_after(dt.datetime.now(dt.UTC)) if status >= 400 else None
    if status >= 400 and status != 409 and jobj is not None:
        try:
            problem = messages.Error.from_json(jobj)
        except (jose_errors.Error, ValueError, TypeError, KeyError, AttributeError):
            problem = None
        if problem is not None:
            raise problem_error(problem, what, status=status, retry_after=retry_after)
    elif status < 400 and (jobj is not None or not want_json):
        return
    message = f"ACME {what}: unexpected reply HTTP {status}"
    if status < 400:
        message += " that is not ACME JSON (is this an ACME CA?)"
    if status >= 500 or status == 429:
        raise AcmeTemporaryError(message, retry_after=retry_after)
    raise AcmeRejectedError(message)


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
