"""The controller identity the agent pins: its Ed25519 key, followed through signed rotations.

TLS proves only that the server holds *some* certificate of the controller's private CA for the
host name, and that CA also issues every definition's certificate. So the agent acts on no
answer unless the pinned controller key signed it, bound to the request's own nonce
(:mod:`certmgr.shared._protoanswer`). When the pinned key does not verify an answer but the
answer lists rotations that lead from the pinned key to one that does, the agent pins that key
(persisted through the ``on_rotate`` callback before the answer is used).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import nacl.signing

from certmgr.shared import protocol as p
from certmgr.shared.errors import PermissionDeniedError

logger = logging.getLogger(__name__)

OnRotate = Callable[[nacl.signing.VerifyKey], Awaitable[None]]


class ControllerPin:
    """The controller key answers must be signed with (see the module docstring)."""

    def __init__(self, key: nacl.signing.VerifyKey, on_rotate: OnRotate | None = None) -> None:
        """Pin ``key``.

        Args:
            key: The controller key pinned at enrolment (or after the last rotation).
            on_rotate: Awaited with the new key before an answer signed by it is accepted
                (it should persist the key; an error there refuses the answer).
        """
        self._key = key
        self._on_rotate = on_rotate
        self._rotating = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ControllerPin({p.controller_key_sha256(self._key)[:16]}…)"

    @property
    def key(self) -> nacl.signing.VerifyKey:
        """The key pinned now."""
        return self._key

    async def check(
        self,
        headers: Mapping[str, str],
        method: str,
        path_with_query: str,
        nonce: str,
        status: int,
        body: bytes,
    ) -> None:
        """Accept an answer only when the pinned key (or a rotation announced by it) signed it.

        Raises:
            PermissionDeniedError: The answer is unsigned, signed by another key, or its
                rotation list is damaged: it must not be acted on.
        """
        if p.answer_verifies(self._key, headers, method, path_with_query, nonce, status, body):
            return
        async with self._rotating:  # two answers may announce the same rotation at once
            old = self._key
            reached = p.follow_rotations(old, p.rotations_of(headers))
            if p.answer_verifies(reached, headers, method, path_with_query, nonce, status, body):
                if reached != old:
                    if self._on_rotate is not None:
                        await self._on_rotate(reached)
                    self._key = reached
                    logger.warning(
                        "the controller rotated its key: now pinning %s (announced by %s)",
                        p.controller_key_sha256(reached)[:16],
                        p.controller_key_sha256(old)[:16],
                    )
                return
        raise PermissionDeniedError(
            f"the answer to {method} {path_with_query.split('?', 1)[0]} is not signed by the "
            "pinned controller key: ignored (a server that is not the controller?)"
        )
