"""ACME errors: certmgr's upstream errors with the CA's problem type, detail and Retry-After.

::

    UpstreamError
    ├── TemporaryUpstreamError
    │   └── AcmeTemporaryError   unreachable CA, timeouts, 5xx, 429, badNonce (after retries),
    │                            rateLimited, serverInternal; ``retry_after`` when the CA said
    └── UpstreamRejectedError
        └── AcmeRejectedError    every other ACME problem (unauthorized, externalAccountRequired,
                                 a failed challenge, malformed, ...) and broken replies

The message always carries the CA's own detail text (made printable and bounded).
"""

from __future__ import annotations

import datetime as dt
import email.utils

from acme import messages

from certmgr.shared.errors import TemporaryUpstreamError, UpstreamRejectedError

_TEMPORARY_PROBLEMS = frozenset({"badNonce", "rateLimited", "serverInternal"})
_DETAIL_LIMIT = 600


class AcmeTemporaryError(TemporaryUpstreamError):
    """The ACME CA cannot serve the request now; retry later (after ``retry_after`` if set)."""

    def __init__(
        self,
        message: str,
        *,
        problem_type: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Create the error.

        Args:
            message: What failed, including the CA's own detail when there is one.
            problem_type: The ACME problem type URN, when the CA sent one.
            detail: The CA's detail text.
            retry_after: Seconds the CA asked us to wait, when it said.
        """
        super().__init__(message)
        self.problem_type = problem_type
        self.detail = detail
        self.retry_after = retry_after


class AcmeRejectedError(UpstreamRejectedError):
    """The ACME CA refused the request for good (retrying the same request will not help)."""

    def __init__(
        self,
        message: str,
        *,
        problem_type: str | None = None,
        detail: str | None = None,
        identifier: str | None = None,
    ) -> None:
        """Create the error.

        Args:
            message: What failed, including the CA's own detail when there is one.
            problem_type: The ACME problem type URN, when the CA sent one.
            detail: The CA's detail text.
            identifier: The domain the problem is about, when known.
        """
        super().__init__(message)
        self.problem_type = problem_type
        self.detail = detail
        self.identifier = identifier


def clean_text(text: str | None, limit: int = _DETAIL_LIMIT) -> str:
    """A CA-supplied text made printable and bounded (it ends up in logs and the console)."""
    if not text:
        return ""
    printable = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date).

    Args:
        value: The header value, or None when absent.
        now: The current aware time (for HTTP-dates).

    Returns:
        Non-negative seconds, or None when the header is absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def problem_error(
    problem: messages.Error,
    what: str,
    *,
    status: int | None = None,
    retry_after: float | None = None,
    identifier: str | None = None,
) -> AcmeTemporaryError | AcmeRejectedError:
    """The certmgr error for an ACME problem document.

    Args:
        problem: The problem the CA sent.
        what: The step that failed, e.g. ``newOrder``.
        status: The HTTP status, when known.
        retry_after: Seconds from the response's ``Retry-After``.
        identifier: The domain concerned, when the caller knows better than the problem.

    Returns:
        :class:`AcmeTemporaryError` for temporary problems and 5xx/429, else
        :class:`AcmeRejectedError`.
    """
    typ = str(problem.typ)
    detail = clean_text(problem.detail or problem.title or problem.description)
    ident = identifier or (problem.identifier.value if problem.identifier else None)
    subs = "; ".join(
        f"{s.identifier.value if s.identifier else '?'}: {clean_text(s.detail, 200)}"
        for s in problem.subproblems or ()
    )
    about = f" for {ident}" if ident else ""
    message = f"ACME {what}{about} failed: {typ}: {detail}" + (f" ({subs})" if subs else "")
    temporary = problem.code in _TEMPORARY_PROBLEMS or (
        status is not None and (status >= 500 or status == 429)
    )
    if temporary:
        return AcmeTemporaryError(message, problem_type=typ, detail=detail, retry_after=retry_after)
    return AcmeRejectedError(message, problem_type=typ, detail=detail, identifier=ident)
