"""Strict JSON reading for :mod:`certmgr.shared.protocol`: one reader per object, capped sizes.

Every refusal is a :class:`~certmgr.shared.errors.ValidationError` whose ``field`` is the dotted
path of the offending value (``packages[0].blob``); values are never echoed, since they may be
secrets or hostile.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

from certmgr.shared.errors import InputTooLargeError, ValidationError

T = TypeVar("T")

HEX64: Final = re.compile(r"[0-9a-f]{64}")
"""A lower-case hex SHA-256."""

_NAME_SHOWN: Final = 40


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def loads(data: bytes, *, max_size: int) -> object:
    """Parse JSON bytes: UTF-8, at most ``max_size`` bytes, no duplicate keys, no NaN/Infinity.

    Raises:
        InputTooLargeError: More than ``max_size`` bytes.
        ValidationError: Not valid JSON (``field`` is ``body``).
    """
    if len(data) > max_size:
        raise InputTooLargeError(f"message is larger than {max_size} bytes")
    try:
        return json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ValidationError("message is not valid JSON", field="body") from err


def dumps(doc: object) -> bytes:
    """Compact UTF-8 JSON (keys in the order given; no NaN)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError("duplicate key")
        out[key] = value
    return out


def _no_constant(name: str) -> None:
    raise ValueError("NaN and Infinity are not JSON")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (how every binary field travels)."""
    return base64.b64encode(data).decode("ascii")


def time_text(value: dt.datetime) -> str:
    """ISO 8601 in UTC with an explicit offset, whole seconds (``2030-01-01T12:00:00+00:00``)."""
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()


class Fields:
    """Reads one JSON object field by field; :meth:`done` refuses any field left unread."""

    def __init__(self, doc: object, where: str = "") -> None:
        """Start reading ``doc``.

        Args:
            doc: The decoded JSON value that must be an object.
            where: Dotted path of ``doc`` inside the message ("" for the top level).

        Raises:
            ValidationError: ``doc`` is not a JSON object.
        """
        if not isinstance(doc, dict):
            raise ValidationError(
                f"{where or 'message'} must be a JSON object", field=where or None
            )
        self._doc: dict[str, object] = doc
        self._where = where
        self._read: set[str] = set()

    def path(self, key: str) -> str:
        """The dotted path of ``key`` in this object."""
        return f"{self._where}.{key}" if self._where else key

    def _get(self, key: str, default: object) -> object:
        self._read.add(key)
        if key in self._doc:
            return self._doc[key]
        if default is MISSING:
            raise ValidationError(f"field {self.path(key)} is missing", field=self.path(key))
        return default

    def _wrong(self, key: str, what: str) -> ValidationError:
        return ValidationError(f"field {self.path(key)} must be {what}", field=self.path(key))

    def text(
        self,
        key: str,
        *,
        max_len: int,
        min_len: int = 0,
        pattern: re.Pattern[str] | None = None,
        default: str | _Missing = MISSING,
    ) -> str:
        """A string of ``min_len``..``max_len`` characters, fully matching ``pattern`` if given.

        Raises:
            ValidationError: Missing (without default), not a string, wrong length or pattern.
        """
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        if not min_len <= len(value) <= max_len:
            raise self._wrong(key, f"a string of {min_len} to {max_len} characters")
        if pattern is not None and not pattern.fullmatch(value):
            raise self._wrong(key, "a string of the documented form")
        return value

    def optional_text(
        self, key: str, *, max_len: int, pattern: re.Pattern[str] | None = None
    ) -> str | None:
        """A string as in :meth:`text` (at least one character), or null / absent.

        Raises:
            ValidationError: Present, not null and not a valid string.
        """
        if self._get(key, None) is None:
            return None
        return self.text(key, max_len=max_len, min_len=1, pattern=pattern)

    def integer(self, key: str, *, lo: int, hi: int, default: int | _Missing = MISSING) -> int:
        """An integer (not a boolean, not a float) in ``lo..hi``.

        Raises:
            ValidationError: Missing, not an integer or out of range.
        """
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self._wrong(key, f"an integer from {lo} to {hi}")
        return value

    def boolean(self, key: str, *, default: bool | _Missing = MISSING) -> bool:
        """``true`` or ``false``.

        Raises:
            ValidationError: Missing or not a boolean.
        """
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def binary(self, key: str, *, max_size: int, size: int | None = None) -> bytes:
        """Standard base64 (with padding) decoding to ``size`` bytes, or 1..``max_size`` bytes.

        Raises:
            ValidationError: Missing, not base64, or a wrong decoded size.
        """
        value = self._get(key, MISSING)
        if not isinstance(value, str) or len(value) > (max_size + 2) // 3 * 4:
            raise self._wrong(key, f"base64 of at most {max_size} bytes")
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as err:
            raise self._wrong(key, "standard base64") from err
        if size is not None and len(data) != size:
            raise self._wrong(key, f"base64 of exactly {size} bytes")
        if not data:
            raise self._wrong(key, "non-empty base64")
        return data

    def time(self, key: str) -> dt.datetime:
        """An ISO 8601 date-time with a UTC offset, returned in UTC.

        Raises:
            ValidationError: Missing, not a string, not ISO 8601, or without an offset.
        """
        value = self.text(key, max_len=40, min_len=10)
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError as err:
            raise self._wrong(key, "an ISO 8601 date-time") from err
        if parsed.utcoffset() is None:
            raise self._wrong(key, "an ISO 8601 date-time with a UTC offset")
        return parsed.astimezone(dt.UTC)

    def items(
        self,
        key: str,
        parse: Callable[[object, str], T],
        *,
        max_items: int,
        default: tuple[T, ...] | _Missing = MISSING,
    ) -> tuple[T, ...]:
        """A list of at most ``max_items`` values, each read by ``parse(value, path)``.

        Raises:
            ValidationError: Missing, not a list, too long, or an item is wrong.
        """
        value = self._get(key, default)
        if isinstance(value, tuple):
            return value
        if not isinstance(value, list):
            raise self._wrong(key, "a list")
        if len(value) > max_items:
            raise self._wrong(key, f"a list of at most {max_items} items")
        return tuple(parse(item, f"{self.path(key)}[{i}]") for i, item in enumerate(value))

    def texts(
        self,
        key: str,
        *,
        max_items: int,
        max_len: int,
        pattern: re.Pattern[str] | None = None,
        default: tuple[str, ...] | _Missing = MISSING,
    ) -> tuple[str, ...]:
        """A list of strings (each 1..``max_len`` characters, matching ``pattern`` if given).

        Raises:
            ValidationError: Missing, not a list of such strings, or too long.
        """

        def one(item: object, where: str) -> str:
            if (
                not isinstance(item, str)
                or not 0 < len(item) <= max_len
                or (pattern is not None and not pattern.fullmatch(item))
            ):
                raise ValidationError(
                    f"{where} must be a string of 1 to {max_len} characters of the documented form",
                    field=where,
                )
            return item

        return self.items(key, one, max_items=max_items, default=default)

    def done(self) -> None:
        """Refuse fields that were not read.

        Raises:
            ValidationError: The first unknown field (its name shortened).
        """
        unknown = sorted(set(self._doc) - self._read)
        if unknown:
            name = unknown[0][:_NAME_SHOWN]
            raise ValidationError(f"unknown field {self.path(name)!r}", field=self.path(name))
