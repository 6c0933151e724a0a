"""ACME challenge solvers: the ``ChallengeSolver`` seam, an HTTP-01 responder and a combiner.

A solver publishes what the CA will look for (``prepare``) and removes it again (``cleanup``);
the order code decides which challenge kind to use from ``supports(domain)``. Wildcard names
(``*.example.test``) can only be validated with DNS-01; see ``acme_dns01`` for the RFC 2136
solver.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Final, Protocol, Self, runtime_checkable

from aiohttp import web

from certmgr.shared.errors import TemporaryUpstreamError, ValidationError

logger = logging.getLogger(__name__)

HTTP_01: Final = "http-01"
DNS_01: Final = "dns-01"
CHALLENGE_PATH: Final = "/.well-known/acme-challenge/"


@runtime_checkable
class ChallengeSolver(Protocol):
    """Publishes and removes ACME challenge responses.

    ``value`` is the key authorization for HTTP-01 and the TXT record value for DNS-01.
    ``domain`` given to ``prepare``/``cleanup`` is the identifier being validated, without any
    ``*.`` prefix (a wildcard's authorization is for its base name).
    """

    def supports(self, domain: str) -> Sequence[str]:
        """Challenge kinds this solver can answer for ``domain`` (may start with ``*.``), best first."""
        ...

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        """Publish the response; return only when the CA can see it.

        Raises:
            UpstreamError: The response could not be published.
        """
        ...

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        """Remove the response again (called for every prepared challenge, success or not).

        Raises:
            UpstreamError: The response could not be removed.
        """
        ...


def base_name(domain: str) -> str:
    """``domain`` lower-cased, without a trailing dot or a ``*.`` prefix."""
    name = domain.strip().rstrip(".").lower()
    return name[2:] if name.startswith("*.") else name


def in_domains(domain: str, suffixes: Iterable[str] | None) -> bool:
    """True when ``domain`` equals or lies below one of ``suffixes`` (None allows all)."""
    if suffixes is None:
        return True
    name = base_name(domain)
    return any(name == s or name.endswith("." + s) for s in (base_name(x) for x in suffixes))


class Http01Responder:
    """Serves ``/.well-known/acme-challenge/{token}`` from memory on its own aiohttp site.

    Use it as an async context manager (or call :meth:`start`/:meth:`stop`), or register
    :meth:`handle` for ``CHALLENGE_PATH + "{token}"`` in an application that already listens
    on port 80 and only use ``prepare``/``cleanup``.

    Args:
        host: Address to listen on.
        port: Port to listen on (0 picks a free one; see :attr:`port` after start).
        domains: Serve only these names and their subdomains (None: any non-wildcard name).
        backlog: Listen backlog (CAs fetch each token several times, concurrently).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 80,
        *,
        domains: Iterable[str] | None = None,
        backlog: int = 1024,
    ) -> None:
        self.host = host
        self._port = port
        self._domains = None if domains is None else tuple(domains)
        self._backlog = backlog
        self._tokens: dict[str, str] = {}
        self.app = web.Application()
        self.app.router.add_get(CHALLENGE_PATH + "{token}", self.handle)
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port it listens on (the real one once started with port 0)."""
        return self._port

    @property
    def pending(self) -> int:
        """How many tokens are being served."""
        return len(self._tokens)

    def supports(self, domain: str) -> Sequence[str]:
        """``("http-01",)`` for non-wildcard names inside the configured domains."""
        if domain.strip().startswith("*.") or not in_domains(domain, self._domains):
            return ()
        return (HTTP_01,)

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        """Serve ``value`` at the token's path.

        Raises:
            ValidationError: ``kind`` is not HTTP-01.
        """
        if kind != HTTP_01:
            raise ValidationError(f"the HTTP-01 responder cannot answer {kind}", field="challenge")
        self._tokens[token] = value

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        """Stop serving the token."""
        if self._tokens.get(token) == value:
            del self._tokens[token]

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one challenge fetch (mountable in another app at ``CHALLENGE_PATH{token}``)."""
        value = self._tokens.get(request.match_info["token"])
        if value is None:
            return web.Response(status=404, text="not found\n", content_type="text/plain")
        return web.Response(text=value, content_type="text/plain")

    async def start(self) -> None:
        """Listen on ``host:port``.

        Raises:
            TemporaryUpstreamError: The address cannot be bound (in use, no permission).
        """
        if self._runner is not None:
            return
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port, backlog=self._backlog, reuse_address=True)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise TemporaryUpstreamError(
                f"cannot listen for HTTP-01 on {self.host}:{self._port}: {err.strerror}"
            ) from err
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self._port = int(address[1])
                break

    async def stop(self) -> None:
        """Stop listening (tokens are kept)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class CombinedSolver:
    """Several solvers as one: each challenge goes to the first solver that supports it.

    Typical use: HTTP-01 for plain names plus DNS-01 for wildcards in the same order.
    """

    def __init__(self, *solvers: ChallengeSolver) -> None:
        if not solvers:
            raise ValidationError("CombinedSolver needs at least one solver", field="challenge")
        self._solvers = solvers

    def supports(self, domain: str) -> Sequence[str]:
        """Every kind any solver supports, in solver order."""
        kinds: list[str] = []
        for solver in self._solvers:
            kinds.extend(k for k in solver.supports(domain) if k not in kinds)
        return tuple(kinds)

    def _pick(self, domain: str, kind: str) -> ChallengeSolver:
        for solver in self._solvers:
            if kind in solver.supports(domain):
                return solver
        raise ValidationError(f"no solver answers {kind} for {domain}", field="challenge")

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        """Prepare with the first solver that supports ``kind`` for ``domain``.

        Raises:
            ValidationError: No solver supports it.
            UpstreamError: The chosen solver failed.
        """
        await self._pick(domain, kind).prepare(domain, kind, token, value)

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        """Clean up with the solver that prepared it.

        Raises:
            ValidationError: No solver supports it.
            UpstreamError: The chosen solver failed.
        """
        await self._pick(domain, kind).cleanup(domain, kind, token, value)
