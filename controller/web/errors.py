"""HTTP status and title of each error family: the web surface's one table.

The middleware renders every :class:`~certmgr.shared.errors.CertmgrError` that escapes a
handler with these (a problem-details body for the API, an error page for the console);
console handlers that re-render a form with an error message take the status from here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from certmgr.controller.services.admin.auth import SignInError, SignInThrottledError
from certmgr.controller.services.admin.tokens import TokenRefusedError
from certmgr.shared.errors import (
    CertmgrError,
    ConfigurationError,
    ConflictError,
    EnvelopeError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ProbeError,
    TargetError,
    UpstreamError,
)


class HttpMapping(NamedTuple):
    """How an error family shows over HTTP."""

    status: int
    title: str


INTERNAL: Final = HttpMapping(500, "Internal error")

# Most specific first does not matter: the lookup walks each error's class hierarchy.
HTTP_ERRORS: Final[Mapping[type[CertmgrError], HttpMapping]] = MappingProxyType(
    {
        InputError: HttpMapping(422, "Invalid input"),
        NotFoundError: HttpMapping(404, "Not found"),
        ConflictError: HttpMapping(409, "Conflict"),
        PermissionDeniedError: HttpMapping(403, "Forbidden"),
        SignInError: HttpMapping(401, "Sign-in failed"),
        SignInThrottledError: HttpMapping(429, "Too many sign-in attempts"),
        TokenRefusedError: HttpMapping(401, "API token refused"),
        EnvelopeError: HttpMapping(422, "Package refused"),
        TargetError: HttpMapping(502, "Install target failed"),
        ProbeError: HttpMapping(502, "Probe failed"),
        UpstreamError: HttpMapping(502, "Upstream failure"),
        ConfigurationError: HttpMapping(500, "Configuration error"),
    }
)


def http_error(err: CertmgrError) -> HttpMapping:
    """Status and title of an error: those of its nearest family in :data:`HTTP_ERRORS`."""
    for cls in type(err).__mro__:
        found = HTTP_ERRORS.get(cls)
        if found is not None:
            return found
    return INTERNAL


def status_for(err: CertmgrError) -> int:
    """The HTTP status of an error (for handlers that re-render a form with the message)."""
    return http_error(err).status
