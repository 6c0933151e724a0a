"""The discovery scan: probe every endpoint of a :class:`TargetSpec` inside a :class:`Scope`.

One engine with the probe of :mod:`certmgr.shared.tlsprobe`: a fixed number of workers pull
(host, port) pairs from the spec's lazy expansion, so memory stays flat however many pairs
there are; a per-host gate keeps at most ``per_host`` probes on one address at a time; results
leave through a bounded outbox as they come. Each address:port is connect-scanned first (two
``connect`` calls on a kept socket, no task: :mod:`._sweep`); closed ports answer at once and
filtered ones after the short connect deadline, and an open port is probed on that connection,
under the STARTTLS and handshake deadlines (:class:`Timeouts`).
Nothing outside the scope is ever contacted: addresses are checked before a connection, names
are resolved once and probed at the checked addresses (a second lookup could answer otherwise).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import time
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import NamedTuple

from certmgr.shared._tlswire import check_sni, hostport
from certmgr.shared.discovery._sweep import Connector, HostGate, Outbox, Pair, address_chunks
from certmgr.shared.discovery.results import (
    EndpointResult,
    Outcome,
    Timeouts,
    outcome_of,
    port_result,
)
from certmgr.shared.discovery.targets import IPAddress, Scope, TargetSpec
from certmgr.shared.errors import InputTooLargeError, ValidationError
from certmgr.shared.tlsprobe import (
    DEFAULT_MAX_CHAIN_BYTES,
    STARTTLS_PORTS,
    STARTTLS_PROTOCOLS,
    probe,
)

__all__ = ["Resolver", "scan"]

Resolver = Callable[[str], Awaitable[Sequence[IPAddress]]]
_MAX_CONCURRENCY = 10_000
_MAX_ADDRESSES_PER_NAME = 64
_TURN = 64  # pairs answered at once before a worker lets the event loop run
_BATCH = 512  # results that may wait for the consumer (at least the concurrency)


@dataclass(frozen=True)
class _Job:
    target: str
    port: int | None
    address: IPAddress | None = None  # None: resolve ``target``
    out_of_scope: bool = False
    first_port: bool = True  # a name reports resolution and scope problems once, on this job


def _jobs(spec: TargetSpec, scope: Scope) -> Iterator[_Job | Pair]:
    """What to do, lazily: an address:port pair is a bare tuple (the bulk of a range scan)."""
    for item in spec.items:
        ports = item.ports or spec.ports
        if item.name is not None:
            for n, port in enumerate(ports):
                yield _Job(item.name, port, first_port=n == 0)
            continue
        if item.first is None or item.last is None:  # pragma: no cover - a parsed item has both
            continue
        overlap = scope.overlap(item.first, item.last)
        if overlap == "none":  # one report for the whole item, however large
            yield _Job(item.text, None, out_of_scope=True)
            continue
        for chunk in address_chunks(item.first, item.last):  # every port of a chunk, then the next
            if overlap == "all":
                texts = [str(a) for a in chunk]
            else:
                texts = []
                for a in chunk:
                    if scope.allows_address(a):
                        texts.append(str(a))
                    elif ports:  # reported once, not per port
                        yield _Job(str(a), None, a, out_of_scope=True)
            for port in ports:
                for text in texts:
                    yield text, port


class _Started(NamedTuple):
    """A connect under way (``err`` EINPROGRESS) or made (0), with its address's gate taken."""

    sock: socket.socket
    err: int
    started: float


class _Connected(NamedTuple):
    """A connection the precheck made, for the probe to use."""

    sock: socket.socket
    started: float
    connect_ms: float


async def _system_resolve(name: str) -> Sequence[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class _Scanner:
    def __init__(
        self,
        scope: Scope,
        per_host: int,
        timeouts: Timeouts,
        extra_sni: Mapping[str, tuple[str, ...]],
        starttls: Mapping[int, str | None],
        max_chain_bytes: int,
        resolve: Resolver,
    ) -> None:
        self.scope, self.timeouts, self.extra_sni = scope, timeouts, extra_sni
        self.starttls, self.max_chain_bytes, self.resolve = starttls, max_chain_bytes, resolve
        self.gate = HostGate(per_host)
        self.connector = Connector()
        self.names: dict[str, tuple[IPAddress, ...] | str] = {}  # resolved, or why not

    async def _addresses(self, name: str) -> tuple[IPAddress, ...] | str:
        known = self.names.get(name)
        if known is not None:
            return known
        try:
            async with asyncio.timeout(self.timeouts.resolve):
                found = tuple(dict.fromkeys(await self.resolve(name)))[:_MAX_ADDRESSES_PER_NAME]
        except TimeoutError:
            answer: tuple[IPAddress, ...] | str = (
                f"resolving {name} took longer than {self.timeouts.resolve:g} s"
            )
        except (OSError, UnicodeError, ValueError) as err:
            answer = f"{name} does not resolve ({err})"
        else:
            answer = found or f"{name} resolves to no address"
        self.names[name] = answer
        return answer

    async def _probe(
        self,
        target: str,
        address: str,
        port: int,
        sni: str | None,
        connected: _Connected | None = None,
    ) -> EndpointResult:
        """One probe; the caller holds the gate of ``address``."""
        proto = self.starttls.get(port)
        t = self.timeouts
        started = time.perf_counter() if connected is None else connected.started
        r = await probe(
            address,
            port,
            sni=sni or "",
            timeout=t.connect + t.handshake * (2 if proto else 1),
            starttls=proto,
            max_chain_bytes=self.max_chain_bytes,
            trust_roots=(),  # trust is judged later, by the policy; no per-endpoint work here
            connect_timeout=t.connect,
            handshake_timeout=t.handshake,
            connected=None if connected is None else connected.sock,
        )
        return EndpointResult(
            target=target,
            address=address,
            port=port,
            sni=r.sni,
            starttls=proto,
            outcome=outcome_of(r),
            message=r.error,
            chain=r.chain,
            protocol=r.protocol,
            cipher=r.cipher,
            connect_ms=r.connect_ms if connected is None else connected.connect_ms,
            starttls_ms=r.starttls_ms,
            handshake_ms=r.handshake_ms,
            total_ms=(time.perf_counter() - started) * 1000,
        )

    async def _probes(
        self, address: str, port: int, connected: _Connected | None = None
    ) -> list[EndpointResult]:
        """The bare probe, then, if it reached a listener, one per name known to live there."""
        first = await self._probe(address, address, port, None, connected)
        results = [first]
        if first.outcome not in (Outcome.CLOSED, Outcome.FILTERED):
            for name in self.extra_sni.get(address, ()):
                results.append(await self._probe(address, address, port, name))
        return results

    def quick(self, pair: Pair) -> EndpointResult | _Started | None:
        """The precheck's connect, without awaiting.

        Returns the result of a refused or failed port; a :class:`_Started` (the gate stays
        taken) for :meth:`follow`; None when the address is busy or no socket could be made
        (then :meth:`run` takes its turn).
        """
        if not self.gate.try_take(pair[0]):
            return None
        return self._begin(pair)

    def _begin(self, pair: Pair) -> EndpointResult | _Started | None:
        """:meth:`quick` once the gate is taken (None: no socket; the gate is given back)."""
        address, port = pair
        started = time.perf_counter()
        try:
            err, sock = self.connector.start(address, port)
        except OSError:
            self.gate.give(address)
            return None
        if sock is None:
            self.gate.give(address)
            return self._refused(address, port, err, started)
        return _Started(sock, err, started)

    async def follow(self, pair: Pair, begun: _Started) -> list[EndpointResult]:
        """Finish what :meth:`quick` started: wait for the connect, then probe on it."""
        address, port = pair
        try:
            sock, err, started = begun
            if err == errno.EINPROGRESS:
                try:
                    err = await self._connected(sock)
                except BaseException:
                    sock.close()
                    raise
            if err:
                sock.close()
                return [self._refused(address, port, err, started)]
            made = _Connected(sock, started, (time.perf_counter() - started) * 1000)
            return await self._probes(address, port, made)
        finally:
            self.gate.give(address)

    async def _connected(self, sock: socket.socket) -> int:
        """Wait for a connect under way; its error number (ETIMEDOUT after the deadline)."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = sock.fileno()  # by number: asyncio formats a socket's repr on every call

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_writer(fd, wake)
        try:
            async with asyncio.timeout(self.timeouts.connect):
                await ready
        except TimeoutError:
            return errno.ETIMEDOUT
        finally:
            loop.remove_writer(fd)
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def _refused(self, address: str, port: int, err: int, started: float) -> EndpointResult:
        """The result of a port that refused, timed out or could not be reached."""
        where = hostport(address, port)
        if err == errno.ECONNREFUSED:
            outcome = Outcome.CLOSED
            message = f"connection refused by {where} (nothing is listening on that port?)"
        elif err == errno.ETIMEDOUT:
            outcome = Outcome.FILTERED
            message = (
                f"no answer from {where} within {self.timeouts.connect:g} s "
                "(connection timed out; firewall or host down?)"
            )
        else:
            outcome = Outcome.FILTERED
            message = f"cannot connect to {where}: {os.strerror(err)}"
        ms = (time.perf_counter() - started) * 1000
        return port_result(address, port, self.starttls.get(port), outcome, message, ms)

    def _report(self, job: _Job, outcome: Outcome, message: str) -> EndpointResult:
        address = str(job.address) if job.address is not None else None
        return EndpointResult(job.target, address, None, None, None, outcome, message)

    async def run(self, job: _Job | Pair) -> list[EndpointResult]:
        if isinstance(job, tuple):  # an address: bare, then with each name known to live there
            address, port = job
            await self.gate.take(address)
            begun = self._begin(job)
            if isinstance(begun, EndpointResult):
                return [begun]
            if begun is not None:
                return await self.follow(job, begun)
            # no socket for the connect-scan (out of descriptors?): the probe meets and reports it
            await self.gate.take(address)
            try:
                return await self._probes(address, port)
            finally:
                self.gate.give(address)
        if job.out_of_scope:
            return [
                self._report(job, Outcome.OUT_OF_SCOPE, "outside the scan scope: not contacted")
            ]
        if job.port is None:  # pragma: no cover - only out-of-scope jobs have no port
            return []
        addresses = await self._addresses(job.target)
        if isinstance(addresses, str):
            return [self._report(job, Outcome.UNRESOLVED, addresses)] if job.first_port else []
        outside = [a for a in addresses if not self.scope.allows_address(a)]
        if outside or not self.scope.allows_name(job.target):
            if not job.first_port:
                return []
            why = (
                f"{job.target} resolves to {', '.join(map(str, outside))}, outside the scan scope"
                if outside
                else f"{job.target} matches no host-name pattern of the scan scope"
            )
            return [self._report(job, Outcome.OUT_OF_SCOPE, why + ": not contacted")]
        results = []
        for a in addresses:
            await self.gate.take(str(a))
            try:
                results.append(await self._probe(job.target, str(a), job.port, job.target))
            finally:
                self.gate.give(str(a))
        return results


def _check(
    concurrency: int,
    per_host: int,
    extra_sni: Mapping[str, Sequence[str]] | None,
    starttls: Mapping[int, str | None] | None,
    max_chain_bytes: int,
) -> tuple[dict[str, tuple[str, ...]], dict[int, str | None]]:
    if not 0 < concurrency <= _MAX_CONCURRENCY:
        raise ValidationError(f"concurrency must be 1 to {_MAX_CONCURRENCY}", field="concurrency")
    if not 0 < per_host <= concurrency:
        raise ValidationError("per_host must be 1 to the concurrency", field="per_host")
    if max_chain_bytes <= 0:
        raise ValidationError("max_chain_bytes must be positive", field="max_chain_bytes")
    names: dict[str, tuple[str, ...]] = {}
    for key, values in (extra_sni or {}).items():
        try:
            address = str(ipaddress.ip_address(key))
        except ValueError:
            raise ValidationError(
                f"extra SNI: {key[:60]!r} is not an address", field="extra_sni"
            ) from None
        for value in values:
            if not value or not check_sni(value):
                raise ValidationError(
                    f"extra SNI: {value[:60]!r} is not a server name", field="extra_sni"
                )
        names[address] = tuple(dict.fromkeys(values))
    protocols: dict[int, str | None] = dict(STARTTLS_PORTS)
    for port, proto in (starttls or {}).items():
        if proto is not None and proto not in STARTTLS_PROTOCOLS:
            raise ValidationError(
                f"unknown STARTTLS protocol {proto!r} for port {port}", field="starttls"
            )
        protocols[port] = proto
    return names, protocols


async def scan(
    spec: TargetSpec,
    *,
    scope: Scope,
    concurrency: int = 256,
    per_host: int = 4,
    timeouts: Timeouts | None = None,
    extra_sni: Mapping[str, Sequence[str]] | None = None,
    starttls: Mapping[int, str | None] | None = None,
    max_chain_bytes: int = DEFAULT_MAX_CHAIN_BYTES,
    max_pairs: int | None = None,
    resolve: Resolver | None = None,
    precheck: bool = False,
) -> AsyncGenerator[EndpointResult, None]:
    """Probe every endpoint of ``spec`` inside ``scope``; yield each result as it comes.

    Results arrive in completion order, not in spec order. Close the iterator (``aclosing``) to
    stop early: every probe in flight is cancelled and its connection dropped.

    Args:
        spec: What to scan (see :func:`~certmgr.shared.discovery.targets.parse_targets`).
        scope: What may be contacted; everything else is reported ``out-of-scope``.
        concurrency: Probes in flight at most.
        per_host: Probes in flight on one address at most (politeness).
        timeouts: Deadlines per phase (default :class:`Timeouts`).
        extra_sni: Per address, further server names to try there (virtual hosts); tried only
            when the bare probe reached a listener.
        starttls: Per port, the STARTTLS protocol to speak (None: direct TLS); merged over
            :data:`~certmgr.shared.tlsprobe.STARTTLS_PORTS`.
        max_chain_bytes: Per probe, the most a server may send before the handshake ends.
        max_pairs: Refuse a spec with more (address or name, port) pairs; None: no limit (a
            surface asks the user first, from ``spec.size_report(limit)``).
        resolve: Name lookup (default: the system resolver).
        precheck: Accepted for callers of earlier versions; it changes nothing. Every
            address:port is connect-scanned first with a bare non-blocking connect (as
            ``nmap -sT`` does before its scripts), so a closed or filtered port costs a fraction
            of a probe, and an open port is probed on that same connection.

    Yields:
        One :class:`EndpointResult` per endpoint and server name tried, and one per item,
        address or name that was out of scope or did not resolve.

    Raises:
        ValidationError: A bad argument (concurrency, per-host limit, extra SNI, protocol).
        InputTooLargeError: The spec has more pairs than ``max_pairs``.
    """
    names, protocols = _check(concurrency, per_host, extra_sni, starttls, max_chain_bytes)
    count = spec.count()
    if max_pairs is not None and count > max_pairs:
        raise InputTooLargeError(
            f"the scan names {count} address:port pairs, {count - max_pairs} more than the "
            f"limit of {max_pairs}; confirm to scan them all"
        )
    scanner = _Scanner(
        scope,
        per_host,
        timeouts or Timeouts(),
        names,
        protocols,
        max_chain_bytes,
        resolve or _system_resolve,
    )
    jobs = _jobs(spec, scope)
    out: Outbox[EndpointResult] = Outbox(max(concurrency, _BATCH), _BATCH // _TURN + 1)

    async def work() -> None:
        quick = scanner.quick
        done = 0
        for job in jobs:  # one shared lazy iterator: each worker takes the next pair
            if isinstance(job, tuple):
                begun = quick(job)  # most ports answer at once: no task, future or await
                if isinstance(begun, EndpointResult):
                    done += 1
                    if out.add(begun):
                        await out.wait()
                    elif not done % _TURN:  # let the loop (and the consumer) run now and then
                        await asyncio.sleep(0)
                    continue
                results = await (scanner.follow(job, begun) if begun else scanner.run(job))
            else:
                results = await scanner.run(job)
            for result in results:
                if out.add(result):
                    await out.wait()

    workers = [asyncio.create_task(work()) for _ in range(min(concurrency, count))]

    async def finish() -> BaseException | None:
        outcomes = await asyncio.gather(*workers, return_exceptions=True)
        out.close()
        return next((o for o in outcomes if isinstance(o, BaseException)), None)

    closer = asyncio.create_task(finish())
    try:
        while batch := await out.take():
            for result in batch:
                yield result
        if (failure := await closer) is not None:
            raise failure
    finally:
        for task in (*workers, closer):
            task.cancel()
        await asyncio.gather(*workers, closer, return_exceptions=True)
        scanner.connector.close()
