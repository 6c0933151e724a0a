"""ACME Renewal Information (RFC 9773): certificate identifiers and suggested renewal windows."""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from certmgr.controller.issuers.acme_errors import AcmeRejectedError
from certmgr.shared.errors import ValidationError

DEFAULT_RETRY_AFTER = 6 * 3600.0  # RFC 9773 §4.3.3: poll again after six hours by default
MIN_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 86400.0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def ari_cert_id(cert: x509.Certificate) -> str:
    """The RFC 9773 certificate identifier: ``base64url(AKI keyIdentifier).base64url(serial)``.

    The serial is encoded as the bytes of its DER INTEGER (two's complement, minimal, so a
    leading zero byte when the high bit is set); no base64 padding.

    Args:
        cert: The certificate to renew.

    Returns:
        The identifier used in the renewalInfo URL and in newOrder ``replaces``.

    Raises:
        ValidationError: The certificate has no authority key identifier.
    """
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        aki = None
    if aki is None or aki.key_identifier is None:
        raise ValidationError(
            "the certificate has no authority key identifier, so ACME ARI cannot name it",
            field="certificate",
        )
    serial = cert.serial_number
    serial_der = serial.to_bytes(serial.bit_length() // 8 + 1, "big", signed=True)
    return f"{_b64url(aki.key_identifier)}.{_b64url(serial_der)}"


@dataclass(frozen=True)
class RenewalWindow:
    """The CA's suggested renewal window for one certificate.

    Attributes:
        start: Earliest suggested renewal time (aware UTC).
        end: Latest suggested renewal time (aware UTC).
        retry_after: Seconds until the renewal information should be fetched again.
        explanation_url: A page the CA links to explain an unusual window (e.g. a revocation).
    """

    start: dt.datetime
    end: dt.datetime
    retry_after: float = DEFAULT_RETRY_AFTER
    explanation_url: str | None = None

    def pick_time(self, rng: random.Random | None = None) -> dt.datetime:
        """A uniformly random time inside the window (RFC 9773 §4.2 spreads renewals out)."""
        span = max(0.0, (self.end - self.start).total_seconds())
        offset = (rng or random.Random()).uniform(0, span)  # noqa: S311 - not security relevant
        return self.start + dt.timedelta(seconds=offset)


def _aware(value: object, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise AcmeRejectedError(f"ACME renewalInfo: the window has no {name}")
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as err:
        raise AcmeRejectedError(f"ACME renewalInfo: {name} is not an RFC 3339 time") from err
    if when.tzinfo is None:
        raise AcmeRejectedError(f"ACME renewalInfo: {name} has no time zone")
    return when.astimezone(dt.UTC)


def parse_renewal_info(body: Mapping[str, Any], retry_after: float | None) -> RenewalWindow:
    """Read a renewalInfo response.

    Args:
        body: The JSON object the CA sent.
        retry_after: Seconds from its ``Retry-After`` header (None when absent); clamped to
            one minute .. one day, default six hours.

    Returns:
        The window.

    Raises:
        AcmeRejectedError: The window is missing, malformed or ends before it starts.
    """
    window = body.get("suggestedWindow")
    if not isinstance(window, Mapping):
        raise AcmeRejectedError("ACME renewalInfo: the reply has no suggestedWindow")
    start = _aware(window.get("start"), "start")
    end = _aware(window.get("end"), "end")
    if end < start:
        raise AcmeRejectedError("ACME renewalInfo: the suggested window ends before it starts")
    explanation = body.get("explanationURL")
    wait = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
    return RenewalWindow(
        start=start,
        end=end,
        retry_after=min(MAX_RETRY_AFTER, max(MIN_RETRY_AFTER, wait)),
        explanation_url=explanation if isinstance(explanation, str) else None,
    )
