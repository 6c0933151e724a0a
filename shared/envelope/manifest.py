"""The install-package manifest (DESIGN section 4) and its canonical JSON form."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from certmgr.shared.errors import (
    EnvelopeError,
    ExpiredPackageError,
    StalePackageError,
    ValidationError,
)

FORMAT_VERSION: Final = 1
"""The only manifest format version this code writes and reads."""

RECEIPT_KEY_SIZE: Final = 32

JsonValue: TypeAlias = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


class MalformedPackageError(EnvelopeError):
    """The data is not a certmgr install package, or it is truncated or too large."""


class UnsupportedPackageVersionError(EnvelopeError):
    """The package uses a format version this program does not read."""


class AlreadyInstalledPackageError(StalePackageError):
    """The package's sequence number equals the installed one (a replay or a re-install)."""

    def __init__(self, seq: int, installed_seq: int) -> None:
        """Create the error.

        Args:
            seq: The package's sequence number.
            installed_seq: The sequence already installed (the same number).
        """
        super().__init__(seq, installed_seq)
        self.args = (f"package sequence {seq} is already installed (re-install not allowed)",)


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """What one install package carries. Secrets never appear in its ``repr``.

    ``target_params`` is hidden from the ``repr`` too: keystore passwords travel there.
    """

    deployment_id: int
    sequence: int
    target_type: str
    target_params: dict[str, JsonValue] = field(repr=False)
    created_at: dt.datetime
    expires_at: dt.datetime
    controller_key_id: str
    certificate_pem: bytes
    chain_pem: bytes = b""
    private_key_pkcs8: bytes | None = field(default=None, repr=False)
    receipt_key: bytes | None = field(default=None, repr=False)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        """Check every field and normalise the times to UTC.

        Raises:
            ValidationError: A field has a wrong type or value (``field`` names it).
        """
        if self.format_version != FORMAT_VERSION:
            raise ValidationError(
                f"unsupported manifest format version {self.format_version!r}",
                field="format_version",
            )
        for name in ("deployment_id", "sequence"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f"{name} must be a non-negative integer", field=name)
        for name in ("target_type", "controller_key_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(f"{name} must be a non-empty string", field=name)
        for name in ("created_at", "expires_at"):
            value = getattr(self, name)
            if not isinstance(value, dt.datetime) or value.utcoffset() is None:
                raise ValidationError(f"{name} must be an aware datetime", field=name)
            object.__setattr__(self, name, value.astimezone(dt.UTC))
        if self.expires_at <= self.created_at:
            raise ValidationError("expires_at must be later than created_at", field="expires_at")
        if not isinstance(self.certificate_pem, bytes) or not self.certificate_pem.strip():
            raise ValidationError(
                "certificate_pem must be non-empty bytes", field="certificate_pem"
            )
        if not isinstance(self.chain_pem, bytes):
            raise ValidationError("chain_pem must be bytes", field="chain_pem")
        if self.private_key_pkcs8 is not None and (
            not isinstance(self.private_key_pkcs8, bytes) or not self.private_key_pkcs8
        ):
            raise ValidationError(
                "private_key_pkcs8 must be non-empty bytes or None", field="private_key_pkcs8"
            )
        if self.receipt_key is not None and (
            not isinstance(self.receipt_key, bytes) or len(self.receipt_key) != RECEIPT_KEY_SIZE
        ):
            raise ValidationError(
                f"receipt_key must be {RECEIPT_KEY_SIZE} bytes or None", field="receipt_key"
            )
        object.__setattr__(self, "target_params", _json_safe_params(self.target_params))


def check_freshness(
    manifest: Manifest,
    *,
    installed_sequence: int | None,
    now: dt.datetime,
    allow_same: bool = False,
) -> None:
    """Refuse an expired package or one older than what is installed.

    An equal sequence number is refused too (a replayed package), unless
    ``allow_same`` is set: the operator asked to re-install the same package.

    Args:
        manifest: The verified manifest.
        installed_sequence: The sequence installed for this deployment, or None.
        now: The current time (aware).
        allow_same: Accept a sequence equal to ``installed_sequence``.

    Raises:
        ExpiredPackageError: ``now`` is at or after ``expires_at``.
        StalePackageError: The sequence is lower than the installed one.
        AlreadyInstalledPackageError: The sequence equals the installed one and
            ``allow_same`` is false.
        ValidationError: ``now`` is naive.
    """
    if now.utcoffset() is None:
        raise ValidationError("now must be an aware datetime", field="now")
    if installed_sequence is not None:
        if manifest.sequence < installed_sequence:
            raise StalePackageError(manifest.sequence, installed_sequence)
        if manifest.sequence == installed_sequence and not allow_same:
            raise AlreadyInstalledPackageError(manifest.sequence, installed_sequence)
    if now >= manifest.expires_at:
        raise ExpiredPackageError(f"package expired at {manifest.expires_at.isoformat()}")


def encode_manifest(manifest: Manifest) -> bytes:
    """The canonical JSON of a manifest (sorted keys, no spaces, ASCII): the bytes that get signed."""
    doc: dict[str, Any] = {
        "format_version": manifest.format_version,
        "deployment_id": manifest.deployment_id,
        "sequence": manifest.sequence,
        "target_type": manifest.target_type,
        "target_params": manifest.target_params,
        "created_at": _time_text(manifest.created_at),
        "expires_at": _time_text(manifest.expires_at),
        "controller_key_id": manifest.controller_key_id,
        "certificate_pem": _b64(manifest.certificate_pem),
        "chain_pem": _b64(manifest.chain_pem),
        "private_key_pkcs8": _b64(manifest.private_key_pkcs8),
        "receipt_key": _b64(manifest.receipt_key),
    }
    return _canonical(doc)


_FIELDS: Final = frozenset(
    {
        "format_version",
        "deployment_id",
        "sequence",
        "target_type",
        "target_params",
        "created_at",
        "expires_at",
        "controller_key_id",
        "certificate_pem",
        "chain_pem",
        "private_key_pkcs8",
        "receipt_key",
    }
)


def decode_manifest(data: bytes) -> Manifest:
    """Parse canonical manifest JSON (after its signature was checked).

    Raises:
        UnsupportedPackageVersionError: ``format_version`` is not one we read.
        MalformedPackageError: Not a valid manifest.
    """
    try:
        doc = json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise MalformedPackageError("package manifest is not valid JSON") from err
    if not isinstance(doc, dict):
        raise MalformedPackageError("package manifest is not a JSON object")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise UnsupportedPackageVersionError(
            f"package format version {version!r} is not supported (this program reads {FORMAT_VERSION})"
        )
    if set(doc) != _FIELDS:
        extra = sorted(set(doc) - _FIELDS)
        missing = sorted(_FIELDS - set(doc))
        raise MalformedPackageError(
            f"package manifest fields wrong (unknown {extra}, missing {missing})"
        )
    try:
        return Manifest(
            format_version=version,
            deployment_id=doc["deployment_id"],
            sequence=doc["sequence"],
            target_type=doc["target_type"],
            target_params=doc["target_params"],
            created_at=_parse_time(doc["created_at"]),
            expires_at=_parse_time(doc["expires_at"]),
            controller_key_id=doc["controller_key_id"],
            certificate_pem=_unb64(doc["certificate_pem"]) or b"",
            chain_pem=_unb64(doc["chain_pem"]) or b"",
            private_key_pkcs8=_unb64(doc["private_key_pkcs8"]),
            receipt_key=_unb64(doc["receipt_key"]),
        )
    except (ValidationError, ValueError, TypeError) as err:
        raise MalformedPackageError(f"package manifest is invalid: {_safe_reason(err)}") from err


def _safe_reason(err: Exception) -> str:
    # ValidationError messages name fields, never values; others may quote input, so stay generic.
    return str(err) if isinstance(err, ValidationError) else "bad field value"


def _canonical(doc: object) -> bytes:
    return json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def _json_safe_params(params: object) -> dict[str, JsonValue]:
    if not isinstance(params, Mapping) or not _json_safe(params):
        raise ValidationError(
            "target_params must be a JSON object (string keys, finite numbers)",
            field="target_params",
        )
    copy: dict[str, JsonValue] = json.loads(_canonical(dict(params)))
    return copy


def _json_safe(value: object, depth: int = 0) -> bool:
    if depth > 32:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_json_safe(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _json_safe(v, depth + 1) for k, v in value.items())
    return False


def _time_text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _parse_time(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError("time must be a string")
    parsed = dt.datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise ValueError("time must carry a UTC offset")
    return parsed


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")


def _unb64(value: object) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("binary field must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as err:
        raise ValueError("binary field is not base64") from err


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError("duplicate key in manifest")
        out[key] = value
    return out


def _no_constants(name: str) -> None:
    raise ValueError("NaN and Infinity are not allowed")
