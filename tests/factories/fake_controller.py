"""A small fake controller: a real aiohttp app on loopback HTTPS speaking the agent protocol.

It implements :mod:`certmgr.shared.protocol` from the controller's side (token check,
enrolment, signed and replay-checked calls, answers signed with its key, long-poll, reports)
and builds real packages with
:func:`certmgr.shared.envelope.seal_for_agent`. Every request body it receives is kept in
``raw_bodies`` so tests can prove what never left the agent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.public
import nacl.signing
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certmgr.shared import protocol as p
from certmgr.shared.envelope import Manifest, key_id, seal_for_agent
from certmgr.shared.errors import InputError, PermissionDeniedError
from certmgr.shared.pki import private_key_to_pkcs8_der, sha256_fingerprint
from certmgr.shared.secret import Secret
from tests.factories.pki import PrivateKey, make_ca, make_leaf, write_pem
from tests.factories.waiting import async_wait_for

MAX_ITEMS = 16  # the protocol's cap per list in a WorkResponse


@dataclass
class FakeAgent:
    agent_id: str
    name: str
    x25519: nacl.public.PublicKey
    verify_key: nacl.signing.VerifyKey
    packages: list[p.WorkPackage] = field(default_factory=list)
    keygen: list[p.KeygenRequest] = field(default_factory=list)
    revoked: bool = False
    forbidden: bool = False  # answer 403 to everything


class FakeController:
    """Start with ``await start()``; ``stop()`` and ``start()`` again simulate a restart."""

    def __init__(self, folder: Path, *, poll_wait: int = 2) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_key, self.ca_cert = make_ca("Fake Controller CA")
        key, cert = make_leaf(
            self.ca_key, self.ca_cert, "fake-controller", ("localhost", "127.0.0.1")
        )
        self.server_cert = cert
        # leaf + CA, as the real console serves it (a deploy check then sees a complete chain)
        self.cert_file = write_pem(folder / "server.pem", cert, self.ca_cert)
        self._key_file = write_pem(folder / "server.key", key)
        self.signing_key = nacl.signing.SigningKey.generate()
        # what signs answers (None: unsigned, as an impostor would answer) and the rotations listed
        self.answer_key: nacl.signing.SigningKey | None = self.signing_key
        self.rotations: list[p.KeyRotation] = []
        self.poll_wait = poll_wait
        self.port = 0
        self.tokens: dict[str, dt.datetime] = {}
        self.agents: dict[str, FakeAgent] = {}
        self.reports: list[p.Report] = []
        self.inventories: list[p.InventoryUpload] = []
        self.csrs: list[p.CsrUpload] = []
        self.enrollments: list[p.EnrollRequest] = []
        self.raw_bodies: list[bytes] = []
        self.work_polls = 0
        self._nonces: set[tuple[str, str]] = set()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # --- life cycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)

    @property
    def ca_sha256(self) -> str:
        return sha256_fingerprint(self.ca_cert)

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get(p.PATH_CA_CERT, self._ca)
        app.router.add_post(p.PATH_ENROLL, self._enroll)
        app.router.add_get(p.PATH_WORK, self._work)
        app.router.add_post(p.PATH_REPORT, self._report)
        app.router.add_post(p.PATH_INVENTORY, self._inventory)
        app.router.add_post(p.PATH_CSR, self._csr)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self._key_file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context)
        await site.start()
        if not self.port:
            self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what tests drive --------------------------------------------------------------------
    def make_token(
        self,
        *,
        url: str | None = None,
        ca_sha256: str | None = None,
        ttl: float = 600,
        controller_key_sha256: str | None = None,
    ) -> str:
        secret = secrets.token_urlsafe(24)
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl)
        self.tokens[secret] = expires
        token = p.EnrollmentToken(
            controller_url=self.url if url is None else url,
            ca_sha256=ca_sha256 or self.ca_sha256,
            secret=Secret(secret),
            expires_at=expires,
            controller_key_sha256=p.controller_key_sha256(self.signing_key.verify_key)
            if controller_key_sha256 is None
            else controller_key_sha256,
        )
        return p.format_token(token)

    def agent(self, agent_id: str | None = None) -> FakeAgent:
        if agent_id is None:
            (only,) = self.agents.values()
            return only
        return self.agents[agent_id]

    def seal(
        self,
        *,
        deployment_id: int,
        sequence: int,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        key: PrivateKey | None = None,
        target_type: str = "files",
        target_params: dict[str, Any] | None = None,
        agent_id: str | None = None,
        created_at: dt.datetime | None = None,
        expires_at: dt.datetime | None = None,
        signing_key: nacl.signing.SigningKey | None = None,
    ) -> p.WorkPackage:
        signer = signing_key or self.signing_key
        now = dt.datetime.now(dt.UTC)
        manifest = Manifest(
            deployment_id=deployment_id,
            sequence=sequence,
            target_type=target_type,
            target_params=target_params or {},
            created_at=created_at or now - dt.timedelta(minutes=1),
            expires_at=expires_at or now + dt.timedelta(hours=1),
            controller_key_id=key_id(signer.verify_key),
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
            chain_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain),
            private_key_pkcs8=private_key_to_pkcs8_der(key) if key is not None else None,
        )
        blob = seal_for_agent(manifest, signer, self.agent(agent_id).x25519)
        return p.WorkPackage(deployment_id=deployment_id, sequence=sequence, blob=blob)

    def push(self, package: p.WorkPackage, agent_id: str | None = None) -> None:
        self.agent(agent_id).packages.append(package)
        self._wake()

    def push_keygen(self, request: p.KeygenRequest, agent_id: str | None = None) -> None:
        self.agent(agent_id).keygen.append(request)
        self._wake()

    def rotate(self) -> nacl.signing.SigningKey:
        """A new controller key announced by the current one; packages and answers use it."""
        new = nacl.signing.SigningKey.generate()
        self.rotations.append(p.sign_rotation(self.signing_key, new.verify_key))
        self.signing_key = self.answer_key = new
        return new

    def revoke(self, agent_id: str | None = None) -> None:
        self.agent(agent_id).revoked = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, what: Callable[[], Any], timeout: float = 10.0) -> Any:
        return await async_wait_for(what, timeout)

    # --- handlers ----------------------------------------------------------------------------
    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.raw_bodies.append(await request.read())
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except PermissionDeniedError as err:
            return web.json_response({"title": "Forbidden", "detail": str(err)}, status=401)
        except InputError as err:
            return web.json_response({"title": "Invalid", "detail": str(err)}, status=422)

    async def _ca(self, request: web.Request) -> web.Response:
        return web.Response(body=self.ca_pem, content_type="application/x-pem-file")

    async def _enroll(self, request: web.Request) -> web.Response:
        body = p.decode(p.EnrollRequest, await request.read())
        secret = body.token_secret.reveal()
        expires = self.tokens.pop(secret, None)
        if expires is None or expires <= dt.datetime.now(dt.UTC):
            return web.json_response({"title": "token refused"}, status=403)
        agent_id = str(len(self.agents) + 1)
        self.agents[agent_id] = FakeAgent(
            agent_id,
            body.agent_name,
            nacl.public.PublicKey(body.x25519_public_key),
            nacl.signing.VerifyKey(body.ed25519_public_key),
        )
        self.enrollments.append(body)
        answer = p.EnrollResponse(
            agent_id=agent_id,
            controller_verify_key=bytes(self.signing_key.verify_key),
            poll_wait_seconds=self.poll_wait,
        )
        return web.json_response(answer.to_json())

    async def _authenticate(self, request: web.Request) -> FakeAgent:
        agent = self.agents.get(p.agent_id_of(request.headers))
        if agent is None:
            raise PermissionDeniedError("unknown agent")
        body = await request.read()
        agent_id, nonce = p.verify_request(
            agent.verify_key,
            request.headers,
            request.method,
            request.raw_path,
            body,
            dt.datetime.now(dt.UTC),
        )
        if (agent_id, nonce) in self._nonces:
            raise PermissionDeniedError("replayed nonce")
        self._nonces.add((agent_id, nonce))
        if agent.forbidden:
            raise web.HTTPForbidden(text="agent disabled")
        return agent

    def _answer(self, request: web.Request, doc: dict[str, Any]) -> web.Response:
        """A JSON answer signed like the real controller's (unless ``answer_key`` is None)."""
        body = json.dumps(doc).encode()
        headers: dict[str, str] = {}
        if self.answer_key is not None:
            headers = p.sign_answer(
                self.answer_key,
                request.method,
                request.raw_path,
                request.headers[p.HEADER_NONCE],
                200,
                body,
            )
            if self.rotations:
                headers[p.HEADER_KEY_ROTATION] = p.format_rotations(self.rotations)
        return web.Response(body=body, content_type="application/json", headers=headers)

    async def _work(self, request: web.Request) -> web.Response:
        agent = await self._authenticate(request)
        self.work_polls += 1
        wait = int(request.query.get("wait", "0"))
        try:
            async with asyncio.timeout(wait):
                while not agent.packages and not agent.keygen and not agent.revoked:
                    await self._changed.wait()
        except TimeoutError:
            pass
        if agent.revoked:
            return self._answer(request, p.WorkResponse(revoked=True).to_json())
        answer = p.WorkResponse(
            packages=tuple(agent.packages[:MAX_ITEMS]), keygen=tuple(agent.keygen[:MAX_ITEMS])
        )
        del agent.packages[:MAX_ITEMS], agent.keygen[:MAX_ITEMS]
        return self._answer(request, answer.to_json())

    async def _report(self, request: web.Request) -> web.Response:
        await self._authenticate(request)
        self.reports.append(p.decode(p.Report, await request.read()))
        return self._answer(request, {"ok": True})

    async def _inventory(self, request: web.Request) -> web.Response:
        await self._authenticate(request)
        self.inventories.append(p.decode(p.InventoryUpload, await request.read()))
        return self._answer(request, {"ok": True})

    async def _csr(self, request: web.Request) -> web.Response:
        await self._authenticate(request)
        self.csrs.append(p.decode(p.CsrUpload, await request.read()))
        return self._answer(request, {"ok": True})
