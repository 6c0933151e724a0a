"""Exit codes of the three command lines: ``certmgr``, ``certmgr-agent`` and the one-click installer.

One number means one thing in all three. Each command's ``main`` maps a
:class:`~certmgr.shared.errors.CertmgrError` to its code with :func:`exit_code_for`, once;
nothing else picks an exit code for an error.

====  ===================  ==========================================================
code  name                 meaning
====  ===================  ==========================================================
0     OK                   done
1     PROBLEMS_FOUND       a check found problems (the installer: installed, but the
                           local check failed), or a failure of no kind listed here
2     BAD_INPUT            bad input: options, files, passphrase, cancelled at a prompt
3     NOT_FOUND            the named object does not exist
4     CONFLICT             conflicts with the current state (e.g. already done)
5     NOT_ALLOWED          not allowed: permission, sign-in, a revoked agent
6     CONFIGURATION        the configuration or home folder is unusable, not enrolled
7     PACKAGE_REFUSED      an install package was refused (damaged, altered, expired,
                           not for this host, a path or parameter it may not set)
8     INSTALL_FAILED       an install target failed; the previous files are back
9     PROBE_FAILED         a TLS server could not be probed
10    UPSTREAM_FAILED      an issuer, mail server or the controller failed or is
                           unreachable
11    ROLLBACK_FAILED      install failed and so did the rollback: the host was left
                           changed and needs a human
130   INTERRUPTED          interrupted (Ctrl-C)
141   BROKEN_PIPE          the reader of the output went away
====  ===================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from certmgr.shared.errors import (
    CertmgrError,
    ConfigurationError,
    ConflictError,
    EnvelopeError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ProbeError,
    RollbackFailedError,
    TargetError,
    UpstreamError,
)

OK: Final = 0
PROBLEMS_FOUND: Final = 1
BAD_INPUT: Final = 2
NOT_FOUND: Final = 3
CONFLICT: Final = 4
NOT_ALLOWED: Final = 5
CONFIGURATION: Final = 6
PACKAGE_REFUSED: Final = 7
INSTALL_FAILED: Final = 8
PROBE_FAILED: Final = 9
UPSTREAM_FAILED: Final = 10
ROLLBACK_FAILED: Final = 11
INTERRUPTED: Final = 130
BROKEN_PIPE: Final = 141

EXIT_CODES: Final[Mapping[type[CertmgrError], int]] = MappingProxyType(
    {
        InputError: BAD_INPUT,
        NotFoundError: NOT_FOUND,
        ConflictError: CONFLICT,
        PermissionDeniedError: NOT_ALLOWED,
        ConfigurationError: CONFIGURATION,
        EnvelopeError: PACKAGE_REFUSED,
        RollbackFailedError: ROLLBACK_FAILED,
        TargetError: INSTALL_FAILED,
        ProbeError: PROBE_FAILED,
        UpstreamError: UPSTREAM_FAILED,
    }
)


def exit_code_for(err: CertmgrError) -> int:
    """The exit code of an error: that of its nearest family in :data:`EXIT_CODES`, else 1."""
    for cls in type(err).__mro__:
        code = EXIT_CODES.get(cls)
        if code is not None:
            return code
    return PROBLEMS_FOUND
