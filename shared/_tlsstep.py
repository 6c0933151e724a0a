"""The error of one probe step and its kinds (shared by the wire and the STARTTLS dialogues)."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["resolve", "timeout", "refused", "reset", "handshake", "starttls", "too-large"]
# Finer than the kind, for callers that sort outcomes (discovery: closed versus filtered...):
# refused/unreachable (connect), not-protocol/not-offered/rejected/closed (STARTTLS), not-tls.
Reason = Literal[
    "refused", "unreachable", "not-protocol", "not-offered", "rejected", "closed", "not-tls"
]


class StepError(Exception):
    def __init__(self, kind: ErrorKind, message: str, reason: Reason | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.reason: Reason | None = reason
