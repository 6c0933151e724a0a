"""One TLS receive buffer per thread instead of one per connection (thousands of idle agents).

asyncio's TLS protocol gives every connection its own receive buffer (256 KiB by default) for
``recv_into``, and zero-fills it, so each idle long-poll keeps it resident. The transport fills it
and hands it to the protocol in one synchronous step (``get_buffer``, ``recv_into``,
``buffer_updated``), which copies the bytes into the connection's TLS memory BIO at once: the
buffer holds nothing between two reads, so all connections of a thread's loop can share one.
"""

from __future__ import annotations

import asyncio.sslproto
import threading
from typing import Any

READ_SIZE = 32 * 1024
"""Bytes per ``recv``: a TLS record is at most 16 KiB, so two records a call."""

_local = threading.local()
_installed = False


def _shared_view(size: int) -> memoryview:
    view: memoryview | None = getattr(_local, "view", None)
    if view is None or len(view) != size:
        view = memoryview(bytearray(size))
        _local.view = view
    return view


def share_tls_read_buffers() -> None:
    """Make every asyncio TLS connection of this process use its thread's receive buffer.

    Does nothing when asyncio's TLS protocol does not keep the buffer in the attributes this
    relies on (another Python version): connections then keep their own, as before.
    """
    global _installed  # noqa: PLW0603 - installed once per process
    cls: Any = asyncio.sslproto.SSLProtocol
    if _installed or not all(
        hasattr(cls, name) for name in ("get_buffer", "buffer_updated", "max_size")
    ):
        return
    cls.max_size = READ_SIZE  # each connection's own buffer is made once, then dropped
    original = cls.__init__

    def init_sharing(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if hasattr(self, "_ssl_buffer_view") and hasattr(self, "_ssl_buffer"):
            view = _shared_view(cls.max_size)
            self._ssl_buffer, self._ssl_buffer_view = view.obj, view

    cls.__init__ = init_sharing
    _installed = True
