"""Parse a JSON-like dict into a target's frozen parameter dataclass, field by field.

Every refusal is a :class:`~certmgr.shared.errors.ValidationError` naming the field; values are
never echoed (some are passwords).
"""

from __future__ import annotations

import dataclasses
import posixpath
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from certmgr.shared.errors import ValidationError
from certmgr.shared.secret import Secret
from certmgr.shared.targets.base import TargetParams

P = TypeVar("P", bound=TargetParams)


def parse_params(params_type: type[P], raw: Mapping[str, object]) -> P:
    """Build ``params_type`` from ``raw``, checking names, types and paths.

    Raises:
        ValidationError: Unknown or missing field, wrong type, relative or non-normal path,
            or a cross-field rule of the dataclass.
    """
    if not isinstance(raw, Mapping):
        raise ValidationError("target parameters must be an object", field="params")
    fields = {f.name: f for f in dataclasses.fields(params_type) if f.init}
    for key in raw:
        if key not in fields:
            raise ValidationError(f"unknown parameter {key!r}", field=str(key))
    hints = typing.get_type_hints(params_type)
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValidationError(f"parameter {name!r} is required", field=name)
            continue
        value = _convert(name, hints[name], raw[name], f.metadata)
        values[name] = value
    return params_type(**values)


def _convert(name: str, hint: Any, value: object, meta: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(name, inner, value, meta)
    if origin is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValidationError(f"{name} must be a list of strings", field=name)
        items = tuple(str(v) for v in value)
        if meta.get("path") or meta.get("absolute"):
            for item in items:
                check_absolute(name, item)
        return items
    if origin is Secret or hint is Secret:
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string", field=name)
        return Secret(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError as err:
            allowed = ", ".join(str(m.value) for m in hint)
            raise ValidationError(f"{name} must be one of: {allowed}", field=name) from err
    if hint is bool:
        if not isinstance(value, bool):
            raise ValidationError(f"{name} must be true or false", field=name)
        return value
    if hint is int:
        return _int(name, value, octal=bool(meta.get("octal")))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValidationError(f"{name} must be a positive number", field=name)
        return float(value)
    if hint is str:
        if not isinstance(value, str) or not value:
            raise ValidationError(f"{name} must be a non-empty string", field=name)
        if meta.get("path") or meta.get("absolute"):
            check_absolute(name, value)
        return value
    raise ValidationError(f"{name} has an unsupported type", field=name)  # pragma: no cover


def _int(name: str, value: object, *, octal: bool) -> int:
    if isinstance(value, str) and octal:
        try:
            number = int(value, 8)
        except ValueError as err:
            raise ValidationError(f"{name} must be an octal mode such as 0640", field=name) from err
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise ValidationError(f"{name} must be an integer", field=name)
    if number < 0 or (octal and number > 0o7777):
        raise ValidationError(f"{name} is out of range", field=name)
    return number


def check_absolute(name: str, path: str) -> None:
    """Refuse a relative, non-normal or ``..``-bearing path.

    Raises:
        ValidationError: The path is not absolute and normal.
    """
    if (
        not path.startswith("/")
        or "\x00" in path
        or ".." in path.split("/")
        or posixpath.normpath(path) != path.rstrip("/")
        and path != "/"
    ):
        raise ValidationError(f"{name} must be an absolute, normalised path: {path}", field=name)


def type_label(hint: Any) -> str:
    """A short name for a parameter type: ``str``, ``int | None``, ``list of str``, ``secret``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_label(a) for a in args)
    if origin is tuple:
        return "list of str"
    if origin is Secret or hint is Secret:
        return "secret"
    if hint is type(None):
        return "None"
    return str(getattr(hint, "__name__", hint))


def choices(hint: Any) -> tuple[str, ...]:
    """The allowed values of an enum parameter (empty for other types)."""
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return tuple(str(m.value) for m in candidate)
    return ()
