"""Translation of ACME problem documents and Retry-After headers."""

from __future__ import annotations

import datetime as dt

import pytest
from acme import messages

from certmgr.controller.issuers.acme_errors import (
    AcmeRejectedError,
    AcmeTemporaryError,
    clean_text,
    parse_retry_after,
    problem_error,
)
from certmgr.shared.errors import TemporaryUpstreamError, UpstreamRejectedError

NOW = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sat, 01 Mar 2025 12:00:30 GMT", 30.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),  # in the past: now
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def _problem(code: str, detail: str = "the CA says no", **kw: object) -> messages.Error:
    body = {"type": f"urn:ietf:params:acme:error:{code}", "detail": detail}
    problem: messages.Error = messages.Error.from_json(body)
    for name, value in kw.items():
        setattr(problem, name, value)  # Error is deliberately mutable (acme GH #9539)
    return problem


@pytest.mark.parametrize("code", ["badNonce", "rateLimited", "serverInternal"])
def test_temporary_problems(code: str) -> None:
    err = problem_error(_problem(code), "newOrder", status=400, retry_after=60.0)
    assert isinstance(err, AcmeTemporaryError)
    assert isinstance(err, TemporaryUpstreamError)
    assert err.retry_after == 60.0
    assert err.problem_type == f"urn:ietf:params:acme:error:{code}"
    assert "the CA says no" in str(err)
    assert "newOrder" in str(err)


@pytest.mark.parametrize(
    "code", ["unauthorized", "externalAccountRequired", "malformed", "rejectedIdentifier", "caa"]
)
def test_permanent_problems(code: str) -> None:
    err = problem_error(_problem(code, "refused: because"), "newAccount", status=403)
    assert isinstance(err, AcmeRejectedError)
    assert isinstance(err, UpstreamRejectedError)
    assert code in str(err)
    assert "refused: because" in str(err)


def test_http_status_5xx_and_429_are_temporary_whatever_the_type() -> None:
    assert isinstance(problem_error(_problem("malformed"), "x", status=503), AcmeTemporaryError)
    assert isinstance(problem_error(_problem("malformed"), "x", status=429), AcmeTemporaryError)


def test_identifier_and_subproblems_are_reported() -> None:
    ident = messages.Identifier(typ=messages.IDENTIFIER_FQDN, value="a.test")
    sub = _problem("rejectedIdentifier", "a.test is forbidden", identifier=ident)
    err = problem_error(
        _problem("rejectedIdentifier", "some names", subproblems=(sub,)), "newOrder"
    )
    assert isinstance(err, AcmeRejectedError)
    assert "a.test: a.test is forbidden" in str(err)
    err2 = problem_error(_problem("unauthorized"), "http-01 validation", identifier="b.test")
    assert isinstance(err2, AcmeRejectedError)
    assert err2.identifier == "b.test"
    assert "for b.test" in str(err2)


def test_ca_text_is_made_printable_and_bounded() -> None:
    assert clean_text("a\nb\x1b[31m") == "a\\nb\\x1b[31m"
    assert len(clean_text("x" * 5000)) == 600
    assert clean_text(None) == ""
