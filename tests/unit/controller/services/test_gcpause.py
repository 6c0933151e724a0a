"""The cyclic collector is held off during bulk jobs and given back as it was."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from certmgr.controller.services._gcpause import gc_paused


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_enabled_after_the_last_of_nested_and_concurrent_blocks() -> None:
    gc.enable()
    inner_started, outer_may_end = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other_job() -> None:
        with gc_paused():
            inner_started.set()
            outer_may_end.wait(10)
            seen.append(gc.isenabled())

    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
        t = threading.Thread(target=other_job)
        t.start()
        assert inner_started.wait(10)
    assert not gc.isenabled()  # the other thread's job has not ended yet
    outer_may_end.set()
    t.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled_and_errors_give_it_back() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()
    gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("the job failed")
    assert gc.isenabled()
