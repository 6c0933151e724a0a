"""The scan's cheap parts without a network: the per-host gate, the outbox, a closed port's result."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from certmgr.shared.discovery import EndpointResult, Outcome
from certmgr.shared.discovery._sweep import CHUNK, HostGate, Outbox, address_chunks
from certmgr.shared.discovery.results import port_result


def test_a_closed_port_result_is_the_constructor_s() -> None:
    fast = port_result("10.0.0.1", 25, "smtp", Outcome.CLOSED, "refused", 1.5)
    slow = EndpointResult(
        "10.0.0.1", "10.0.0.1", 25, None, "smtp", Outcome.CLOSED, "refused", total_ms=1.5
    )
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert fast.chain == () and fast.leaf is None and fast.connect_ms is None
    with pytest.raises(AttributeError):
        fast.port = 1  # type: ignore[misc]  # still frozen


async def test_host_gate_limits_each_address_and_hands_places_over() -> None:
    gate = HostGate(2)
    assert gate.try_take("a") and gate.try_take("a") and not gate.try_take("a")
    assert gate.try_take("b")
    waiter = asyncio.create_task(gate.take("a"))
    cancelled = asyncio.create_task(gate.take("a"))
    await asyncio.sleep(0)
    assert not waiter.done()
    cancelled.cancel()
    gate.give("a")  # the place goes to the first waiter, not to a newcomer
    await waiter
    assert not gate.try_take("a")
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    for address in ("a", "a", "b"):
        gate.give(address)
    assert gate._busy == {} and gate._waiting == {}  # nothing kept for addresses done with


async def test_outbox_lets_producers_go_on_a_few_per_batch() -> None:
    box: Outbox[int] = Outbox(3, 1)
    assert not box.add(1) and not box.add(2) and box.add(3)
    box.add(4)  # a second producer that also found it full
    first = asyncio.create_task(box.wait())
    second = asyncio.create_task(box.wait())
    await asyncio.sleep(0)
    assert not first.done() and not second.done()
    assert await box.take() == [1, 2, 3, 4]
    await asyncio.sleep(0)
    assert first.done() and not second.done()  # one per batch taken, the oldest first
    box.add(5)
    assert await box.take() == [5]
    await second
    # nothing to take: every waiting producer goes on (none is left waiting at the end)
    for n in (6, 7, 8):
        box.add(n)
    waiting = [asyncio.create_task(box.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert await box.take() == [6, 7, 8]  # lets one go; that one adds nothing
    taking = asyncio.create_task(box.take())
    await asyncio.gather(*waiting)  # the consumer found nothing: every producer went on
    box.add(9)
    assert await taking == [9]
    box.close()
    assert await box.take() == []


def test_address_chunks_cover_the_range_in_order() -> None:
    first, last = ipaddress.ip_address("10.0.0.0"), ipaddress.ip_address("10.0.9.255")
    chunks = list(address_chunks(first, last))
    assert [len(c) for c in chunks] == [CHUNK] * 2 + [2560 - 2 * CHUNK]
    flat = [a for c in chunks for a in c]
    assert flat[0] == first and flat[-1] == last and len(set(flat)) == 2560
    v6 = list(address_chunks(ipaddress.ip_address("::1"), ipaddress.ip_address("::3")))
    assert v6 == [[ipaddress.ip_address(f"::{n}") for n in (1, 2, 3)]]
