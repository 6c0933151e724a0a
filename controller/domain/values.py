"""Value objects and literal vocabularies of the domain."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from certmgr.shared.errors import ValidationError

VALIDATION_LEVELS = ("DV", "OV", "EV")
# RFC 5280 CRL reasons by their x509.ReasonFlags names (removeFromCRL is for delta CRLs only)
REVOCATION_REASONS = (
    "unspecified",
    "keyCompromise",
    "cACompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "certificateHold",
    "privilegeWithdrawn",
    "aACompromise",
)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: str, *, field: str, label: str | None = None) -> dt.datetime | None:
    """A ``YYYY-MM-DD`` day as midnight UTC (``None`` for an empty value).

    The day after it must exist too, so ranges ending on the day can be written ``< day + 1``.

    Raises:
        ValidationError: Not such a day (the message names ``label``, else ``field``).
    """
    value = value.strip()
    if not value:
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        day = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
        day + dt.timedelta(days=1)  # noqa: B018 - 9999-12-31 has no next day
    except (ValueError, OverflowError):
        raise ValidationError(
            f"{label or field} must be a day written like 2026-11-27, not {value[:40]!r}",
            field=field,
        ) from None
    return day


def parse_moment(value: str, *, field: str, label: str | None = None) -> dt.datetime | None:
    """``YYYY-MM-DD`` (midnight) or ``YYYY-MM-DDTHH:MM[:SS]`` in UTC, or with an explicit offset.

    Raises:
        ValidationError: Not such a time (the message names ``label``, else ``field``).
    """
    value = value.strip()
    if not value:
        return None
    if _DAY.fullmatch(value):
        return parse_day(value, field=field, label=label)
    try:
        when = dt.datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise ValidationError(
            f"{label or field} must be a time written like 2026-11-27T14:30 (UTC), not {value[:40]!r}",
            field=field,
        ) from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


class IssuerKind(StrEnum):
    """Where a definition's certificates come from."""

    PRIVATE_CA = "private-ca"
    ACME = "acme"
    VENDOR = "vendor"


class CertificateSource(StrEnum):
    """How a certificate entered the repository."""

    ISSUED = "issued"
    RECEIVED = "received"
    IMPORTED = "imported"
    DISCOVERED = "discovered"


class KeyOrigin(StrEnum):
    """Where a private key was made."""

    GENERATED = "generated"
    IMPORTED = "imported"
    GENERATED_ON_AGENT = "generated-on-agent"
