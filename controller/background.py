"""Work a request starts but does not wait for: bounded, logged, awaited at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from certmgr.shared.text import error_text

logger = logging.getLogger(__name__)


class Background:
    """A bounded set of background tasks (at most ``limit`` run at once; the rest wait their turn)."""

    def __init__(self, limit: int = 50) -> None:
        """Allow ``limit`` tasks to run at once."""
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``work()`` when a slot is free; a failure is logged (class and message), never raised."""

        async def run() -> None:
            async with self._slots:
                try:
                    await work()
                except Exception as err:  # noqa: BLE001 - a background failure must not vanish silently
                    logger.error(  # noqa: TRY400 - no traceback: its frames may hold secrets
                        "%s failed: %s", name, error_text(err)
                    )

        task = asyncio.create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        """Tasks not finished yet."""
        return len(self._tasks)

    async def aclose(self, timeout: float = 15.0) -> None:
        """Let running tasks finish for up to ``timeout`` seconds, then cancel what is left."""
        if not self._tasks:
            return
        _done, left = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in left:
            task.cancel()
        for task in left:
            with contextlib.suppress(asyncio.CancelledError):
                await task
