"""A tiny in-process ACME CA for what Pebble 2.4.0 lacks: ARI (renewalInfo) and profiles.

It is a seam for unit tests, not a CA: JWS signatures are not checked, authorizations are
already valid, and it records every request so tests can assert on payloads and timing::

    async with AcmeStub(profiles={"shortlived": "6 days"}, ari=True) as stub:
        stub.directory_url, stub.payloads("newOrder"), stub.order_polls

Fault switches: ``bad_nonces`` (reject that many POSTs with badNonce), ``rate_limit`` (refuse
newOrder with rateLimited + Retry-After), ``processing_polls`` / ``retry_after`` (how many
"processing" replies an order gives, the finalize reply included, and the Retry-After they carry).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["AcmeStub", "StubRequest"]

_PROBLEM = "application/problem+json"


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class StubRequest:
    """One recorded POST: resource kind, path, decoded protected header and payload."""

    kind: str
    path: str
    protected: dict[str, Any]
    payload: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic)


class AcmeStub:
    """An ACME directory with optional ``renewalInfo`` and ``meta.profiles``."""

    def __init__(
        self,
        *,
        ari: bool = True,
        profiles: dict[str, str] | None = None,
        window: tuple[dt.datetime, dt.datetime] | None = None,
        ari_retry_after: str | None = "3600",
        processing_polls: int = 0,
        retry_after: str | None = None,
        bad_nonces: int = 0,
        rate_limit: str | None = None,
    ) -> None:
        self.ari = ari
        self.profiles = profiles
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.window = window or (now + dt.timedelta(days=10), now + dt.timedelta(days=12))
        self.ari_retry_after = ari_retry_after
        self.processing_polls = processing_polls
        self.retry_after = retry_after
        self.bad_nonces = bad_nonces
        self.rate_limit = rate_limit
        self.requests: list[StubRequest] = []
        self.renewal_info_ids: list[str] = []
        self.order_polls: list[float] = []
        self.rejected_nonces = 0
        self._ids = itertools.count(1)
        self._nonces: set[str] = set()
        self._orders: dict[str, dict[str, Any]] = {}
        self._certs: dict[str, bytes] = {}
        self._polls_left: dict[str, int] = {}
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stub ACME CA")])
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._ca_key.public_key()),
                critical=False,
            )
            .sign(self._ca_key, hashes.SHA256())
        )
        self.app = web.Application()
        r = self.app.router
        r.add_get("/dir", self._directory)
        r.add_get("/nonce", self._nonce)  # also answers HEAD
        r.add_post("/account", self._account)
        r.add_post("/order", self._new_order)
        r.add_post("/order/{id}", self._order)
        r.add_post("/authz/{id}", self._authz)
        r.add_post("/finalize/{id}", self._finalize)
        r.add_post("/cert/{id}", self._cert)
        r.add_get("/renewal-info/{cert_id}", self._renewal_info)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- life cycle -------------------------------------------------------------------------
    @property
    def directory_url(self) -> str:
        """The directory URL (plain HTTP on loopback)."""
        return f"{self.base_url}/dir"

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = next(a[1] for a in self._runner.addresses if isinstance(a, tuple))
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def payloads(self, kind: str) -> list[dict[str, Any] | None]:
        """Payloads of the recorded POSTs of one kind (``newOrder``, ``finalize``, ...)."""
        return [r.payload for r in self.requests if r.kind == kind]

    def issue(self, csr: x509.CertificateSigningRequest, serial: int | None = None) -> bytes:
        """A leaf for ``csr`` signed by the stub CA (PEM leaf + CA)."""
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.ca_cert.subject)
            .public_key(csr.public_key())
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()),
                critical=False,
            )
        )
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            builder = builder.add_extension(san.value, critical=False)
        except x509.ExtensionNotFound:
            pass
        cert = builder.sign(self._ca_key, hashes.SHA256())
        pem = serialization.Encoding.PEM
        return cert.public_bytes(pem) + self.ca_cert.public_bytes(pem)

    # --- plumbing ---------------------------------------------------------------------------
    def _new_nonce(self) -> str:
        nonce = secrets.token_urlsafe(16)
        self._nonces.add(nonce)
        return nonce

    def _json(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        all_headers = {**(headers or {}), "Replay-Nonce": self._new_nonce()}
        return web.json_response(body, status=status, headers=all_headers)

    def _problem(self, code: str, detail: str, status: int = 400, **headers: str) -> web.Response:
        headers["Replay-Nonce"] = self._new_nonce()
        body = {"type": f"urn:ietf:params:acme:error:{code}", "detail": detail, "status": status}
        return web.Response(
            text=json.dumps(body), status=status, content_type=_PROBLEM, headers=headers
        )

    async def _jws(self, request: web.Request, kind: str) -> StubRequest | web.Response:
        body = await request.json()
        protected = json.loads(_b64decode(body["protected"]))
        payload = json.loads(_b64decode(body["payload"])) if body["payload"] else None
        record = StubRequest(kind, request.path, protected, payload)
        self.requests.append(record)
        if self.bad_nonces > 0:
            self.bad_nonces -= 1
            self.rejected_nonces += 1
            return self._problem("badNonce", "JWS has an invalid anti-replay nonce")
        if protected.get("nonce") not in self._nonces:
            return self._problem("badNonce", "unknown nonce")
        self._nonces.discard(protected["nonce"])
        return record

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    # --- handlers ---------------------------------------------------------------------------
    async def _directory(self, request: web.Request) -> web.Response:
        meta: dict[str, Any] = {"termsOfService": "data:text/plain,stub"}
        if self.profiles is not None:
            meta["profiles"] = self.profiles
        body: dict[str, Any] = {
            "newNonce": self._url("/nonce"),
            "newAccount": self._url("/account"),
            "newOrder": self._url("/order"),
            "meta": meta,
        }
        if self.ari:
            body["renewalInfo"] = self._url("/renewal-info")
        return web.json_response(body)

    async def _nonce(self, request: web.Request) -> web.Response:
        return web.Response(status=200, headers={"Replay-Nonce": self._new_nonce()})

    async def _account(self, request: web.Request) -> web.Response:
        got = await self._jws(request, "newAccount")
        if isinstance(got, web.Response):
            return got
        return self._json(
            {"status": "valid", "contact": (got.payload or {}).get("contact", [])},
            status=201,
            headers={"Location": self._url(f"/account/{next(self._ids)}")},
        )

    async def _new_order(self, request: web.Request) -> web.Response:
        got = await self._jws(request, "newOrder")
        if isinstance(got, web.Response):
            return got
        if self.rate_limit is not None:
            return self._problem(
                "rateLimited",
                "too many new orders recently",
                429,
                **{"Retry-After": self.rate_limit},
            )
        oid = str(next(self._ids))
        payload = got.payload or {}
        order: dict[str, Any] = {
            "status": "ready",
            "identifiers": payload.get("identifiers", []),
            "authorizations": [
                self._url(f"/authz/{oid}-{n}") for n, _ in enumerate(payload.get("identifiers", []))
            ],
            "finalize": self._url(f"/finalize/{oid}"),
        }
        for key in ("profile", "replaces"):
            if key in payload:
                order[key] = payload[key]
        self._orders[oid] = order
        return self._json(order, status=201, headers={"Location": self._url(f"/order/{oid}")})

    async def _authz(self, request: web.Request) -> web.Response:
        got = await self._jws(request, "authorization")
        if isinstance(got, web.Response):
            return got
        oid, _, n = request.match_info["id"].partition("-")
        ident = self._orders[oid]["identifiers"][int(n)]
        return self._json({"status": "valid", "identifier": ident, "challenges": []})

    async def _finalize(self, request: web.Request) -> web.Response:
        got = await self._jws(request, "finalize")
        if isinstance(got, web.Response):
            return got
        oid = request.match_info["id"]
        csr = x509.load_der_x509_csr(_b64decode((got.payload or {})["csr"]))
        self._certs[oid] = self.issue(csr)
        self._polls_left[oid] = self.processing_polls - 1
        order = self._orders[oid]
        if self.processing_polls:
            order["status"] = "processing"
        else:
            order["status"] = "valid"
            order["certificate"] = self._url(f"/cert/{oid}")
        headers = {"Location": self._url(f"/order/{oid}")}
        if self.retry_after:
            headers["Retry-After"] = self.retry_after
        return self._json(order, headers=headers)

    async def _order(self, request: web.Request) -> web.Response:
        got = await self._jws(request, "order")
        if isinstance(got, web.Response):
            return got
        oid = request.match_info["id"]
        self.order_polls.append(time.monotonic())
        order = self._orders[oid]
        if order["status"] == "processing":
            if self._polls_left[oid] > 0:
                self._polls_left[oid] -= 1
            else:
                order["status"] = "valid"
                order["certificate"] = self._url(f"/cert/{oid}")
        headers = (
            {"Retry-After": self.retry_after}
            if self.retry_after and order["status"] == "processing"
            else {}
        )
        return self._json(order, headers=headers)

    async def _cert(self, request: web.Request) -> web.Response:
        got = await self._jws(request, "certificate")
        if isinstance(got, web.Response):
            return got
        return web.Response(
            body=self._certs[request.match_info["id"]],
            content_type="application/pem-certificate-chain",
            headers={"Replay-Nonce": self._new_nonce()},
        )

    async def _renewal_info(self, request: web.Request) -> web.Response:
        self.renewal_info_ids.append(request.match_info["cert_id"])
        start, end = self.window
        body = {
            "suggestedWindow": {
                "start": start.isoformat().replace("+00:00", "Z"),
                "end": end.isoformat().replace("+00:00", "Z"),
            },
            "explanationURL": self._url("/why"),
        }
        headers = {"Retry-After": self.ari_retry_after} if self.ari_retry_after else {}
        return web.json_response(body, headers=headers)
