"""One exit-code table for the three command lines; one HTTP table for the web surface."""

from __future__ import annotations

import pytest

from certmgr.controller.services.admin.auth import SignInError, SignInThrottledError
from certmgr.controller.services.admin.tokens import TokenRefusedError
from certmgr.controller.web.errors import status_for
from certmgr.shared import errors as e
from certmgr.shared import exitcodes as x


@pytest.mark.parametrize(
    ("err", "code", "status"),
    [
        (e.CertmgrError("x"), x.PROBLEMS_FOUND, 500),
        (e.ValidationError("x", field="f"), x.BAD_INPUT, 422),
        (e.WrongPasswordError("x"), x.BAD_INPUT, 422),
        (e.NotFoundError("x"), x.NOT_FOUND, 404),
        (e.InvalidTransitionError("d 1", "a", "b"), x.CONFLICT, 409),
        (e.PermissionDeniedError("x"), x.NOT_ALLOWED, 403),
        (SignInError("x"), x.NOT_ALLOWED, 401),
        (SignInThrottledError(3), x.NOT_ALLOWED, 429),
        (TokenRefusedError("x"), x.NOT_ALLOWED, 401),
        (e.ConfigurationError("x"), x.CONFIGURATION, 500),
        (e.StalePackageError(1, 2), x.PACKAGE_REFUSED, 422),
        (e.ValidationFailedError("x"), x.INSTALL_FAILED, 502),
        (e.RollbackFailedError("x"), x.ROLLBACK_FAILED, 502),
        (e.ResolveError("x"), x.PROBE_FAILED, 502),
        (e.TemporaryUpstreamError("x"), x.UPSTREAM_FAILED, 502),
    ],
)
def test_each_family_has_one_code_and_one_status(
    err: e.CertmgrError, code: int, status: int
) -> None:
    assert x.exit_code_for(err) == code
    assert status_for(err) == status


def test_errors_carry_no_transport_knowledge() -> None:
    for cls in (e.CertmgrError, e.InputError, e.NotFoundError, e.EnvelopeError, e.UpstreamError):
        assert not hasattr(cls, "exit_code")
        assert not hasattr(cls, "http_status")


def test_codes_are_distinct() -> None:
    names = [n for n in dir(x) if n.isupper() and isinstance(getattr(x, n), int)]
    values = [getattr(x, n) for n in names]
    assert len(set(values)) == len(values), names
