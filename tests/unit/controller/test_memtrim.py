"""The heap trim: free pages inside malloc's heaps go back to the system, once a minute while serving."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

from certmgr.controller.memtrim import heap_trimmed, resident_mib, trim_heap

_FRAGMENT = """
import random
from certmgr.controller.memtrim import resident_mib, trim_heap

random.seed(7)
# blocks above pymalloc's 512 bytes come from malloc; keep every third one alive so the freed
# ones lie between live chunks, where glibc does not give them back by itself
blocks = [bytes(random.randint(600, 20000)) for _ in range(30000)]
kept = blocks[::3]
del blocks
before = resident_mib()
released = trim_heap()
print(before, resident_mib(), released, len(kept))
"""


def test_a_trim_gives_back_free_pages_between_live_chunks() -> None:
    # in a fresh process, so this test's own heap does not decide the figures
    out = subprocess.run(
        [sys.executable, "-c", _FRAGMENT], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    before, after, released = float(out[0]), float(out[1]), out[2] == "True"
    assert released
    assert before - after > 100, (before, after)  # about 200 of 300 MiB were free


async def test_the_trim_runs_on_a_worker_thread_every_period_until_left() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def trim() -> bool:
        threads.append(threading.get_ident())
        return True

    async with heap_trimmed(every=0.01, trim=trim):
        for _ in range(500):  # bounded: 5 s at most
            if len(threads) >= 3:
                break
            await asyncio.sleep(0.01)
    count = len(threads)
    assert count >= 3
    assert loop_thread not in threads
    await asyncio.sleep(0.05)
    assert len(threads) == count  # stopped with its block


def test_resident_memory_is_read() -> None:
    assert resident_mib() > 1
    assert isinstance(trim_heap(), bool)
