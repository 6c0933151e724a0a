"""The scan's cheap parts: a host gate, a connect-scan that does not wait, pairs as tuples.

A per-host gate without a coroutine per entry, a connect-scan that learns a near host's answer
without waiting, and address:port pairs made without an object each. Internal to :mod:`certmgr.shared.discovery.scan`. On a large, sparse range nearly every pair is a
closed port, so what a closed port costs decides the scan's rate and CPU: here it is two
``connect`` calls on a socket that is used again (Linux), no ``socket``/``close``, no task, no
future, no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import socket
import sys
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

from certmgr.shared.discovery.targets import IPAddress

__all__ = ["CHUNK", "Connector", "HostGate", "Outbox", "Pair", "address_chunks"]

_T = TypeVar("_T")

CHUNK = 1024
"""Addresses held as text at once: every port of a chunk is tried before the next chunk, so a
host's ports are spread over ``CHUNK`` other probes, and memory stays flat for a /8."""

Pair = tuple[str, int]
# A refused socket can connect again on Linux: the second connect() below finds the RST and
# returns the socket to the unconnected state (net/ipv4/af_inet.c, __inet_stream_connect).
_REUSE = sys.platform == "linux"
_UNDER_WAY = (errno.EINPROGRESS, errno.EALREADY)
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)


class HostGate:
    """At most ``limit`` holders per address; a free address is taken without awaiting."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._busy: dict[str, int] = {}
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    def try_take(self, address: str) -> bool:
        """Take a place on ``address`` if one is free (True), without waiting."""
        n = self._busy.get(address, 0)
        if n >= self._limit:
            return False
        self._busy[address] = n + 1
        return True

    async def take(self, address: str) -> None:
        """Take a place on ``address``, waiting for one (first come, first served)."""
        if not self._waiting.get(address) and self.try_take(address):
            return
        waiting = self._waiting.setdefault(address, deque())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting.append(future)
        try:
            await future  # give() hands its place over: the count stays as it was
        except BaseException:
            if future.done() and not future.cancelled():
                self.give(address)  # handed over, but the waiter was cancelled meanwhile
            else:
                with contextlib.suppress(ValueError):  # give() may have dropped it already
                    waiting.remove(future)
                if not waiting and self._waiting.get(address) is waiting:
                    del self._waiting[address]
            raise

    def give(self, address: str) -> None:
        """Leave ``address``: the next waiter gets the place, or the count drops."""
        waiting = self._waiting.get(address)
        while waiting:
            future = waiting.popleft()
            if not waiting:
                del self._waiting[address]
            if not future.done():
                future.set_result(None)
                return
        n = self._busy[address] - 1
        if n:
            self._busy[address] = n
        else:
            del self._busy[address]


class Connector:
    """Non-blocking TCP connects, one socket kept per address family for the next refusal.

    :meth:`start` returns the error number and, unless the port was refused or failed, the socket
    (the caller then owns it: connected for 0, under way for ``EINPROGRESS``). It raises
    :class:`OSError` when no socket can be made (out of descriptors, say).
    """

    def __init__(self) -> None:
        self._spare: dict[int, socket.socket] = {}

    def start(self, address: str, port: int) -> tuple[int, socket.socket | None]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = self._spare.pop(family, None)
        if sock is None:
            sock = socket.socket(family, socket.SOCK_STREAM | _NONBLOCK)  # OSError: no socket
            if not _NONBLOCK:  # pragma: no cover - Linux has SOCK_NONBLOCK
                sock.setblocking(False)
        where = (address, port)
        try:
            err = sock.connect_ex(where)
            if err in _UNDER_WAY:
                # A near host (loopback, the LAN) has answered by now; asking again reads the
                # answer: 0 connected, ECONNREFUSED refused, EALREADY still under way.
                err = sock.connect_ex(where)
                if err == errno.EISCONN:  # connected (as other systems than Linux say it)
                    err = 0
        except OSError as exc:  # a bad address for the family, say
            sock.close()
            return exc.errno or errno.EINVAL, None
        if err == 0:
            return 0, sock
        if err in _UNDER_WAY:
            return errno.EINPROGRESS, sock
        if err == errno.ECONNREFUSED and _REUSE:
            self._spare[family] = sock
            return err, None
        sock.close()
        return err, None

    def close(self) -> None:
        """Close the kept sockets."""
        for sock in self._spare.values():
            sock.close()
        self._spare.clear()


def address_chunks(first: IPAddress, last: IPAddress) -> Iterator[list[IPAddress]]:
    """The addresses from ``first`` to ``last``, :data:`CHUNK` at a time."""
    make = type(first)
    values = iter(range(int(first), int(last) + 1))
    while chunk := list(itertools.islice(values, CHUNK)):
        yield [make(v) for v in chunk]


class Outbox(Generic[_T]):
    """Results on their way to the consumer, taken all at once.

    A producer that fills it to ``high`` waits; each batch the consumer takes lets ``wake``
    waiting producers go on (the oldest first), and all of them when there is nothing to take.
    Producers and
    consumer so take turns per batch, not per result (an :class:`asyncio.Queue` that is full wakes
    a producer for every item taken), and a batch does not wake every waiting producer only for
    each to add one result and wait again.
    """

    def __init__(self, high: int, wake: int) -> None:
        self.items: list[_T] = []
        self._high, self._wake = high, wake
        self._filled = asyncio.Event()
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._closed = False

    def add(self, item: _T) -> bool:
        """Add ``item``; True when the producer should now :meth:`wait`."""
        self.items.append(item)
        self._filled.set()
        return len(self.items) >= self._high

    async def wait(self) -> None:
        """Wait for a turn when the outbox is full."""
        if len(self.items) < self._high:
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        finally:
            if not turn.done():  # pragma: no cover - only a cancelled wait leaves it pending
                turn.cancel()

    def _release(self, n: int) -> None:
        while n > 0 and self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():  # a cancelled producer's turn is skipped
                turn.set_result(None)
                n -= 1

    def close(self) -> None:
        """No more items will come: :meth:`take` returns nothing once the rest is taken."""
        self._closed = True
        self._filled.set()
        self._release(len(self._waiting))

    async def take(self) -> list[_T]:
        """Everything there is, waiting for something; an empty list once closed and taken."""
        if not self.items and self._waiting:
            await asyncio.sleep(0)  # the producers let go by the last batch run first
        while not self.items:
            if self._closed:
                return []
            self._release(len(self._waiting))  # still nothing: every producer goes on
            self._filled.clear()
            await self._filled.wait()
        batch, self.items = self.items, []
        self._release(self._wake)
        return batch
