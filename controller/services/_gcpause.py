"""Holding off Python's cyclic garbage collector while a bulk job builds many long-lived objects.

An import of 10,000 certificates keeps every parsed certificate, summary and row until its
transaction commits. Each full collection walks all of them, and the collector starts one
whenever the long-lived objects have grown by a quarter: seven full passes in such an import,
about a fifth of its CPU (measured with ``gc.callbacks``). Reference counting still frees
everything that is not part of a cycle at once; cycles wait until the job ends, when the
collector is enabled again (a collection then runs as it normally would).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block (nested and concurrent uses count).

    It is enabled again when the last block that paused it ends, and only if it was enabled
    before the first one began.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
