"""A wrapper that keeps secret values out of reprs, logs and tracebacks."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Secret(Generic[T]):
    """Holds a secret value; ``repr`` and ``str`` never show it.

    Use :meth:`reveal` at the single place where the value is needed.
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        """Wrap ``value``."""
        self._value = value

    def reveal(self) -> T:
        """Return the wrapped value."""
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and bool(self._value == other._value)

    def __hash__(self) -> int:
        return hash(("Secret", id(self)))

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("secrets cannot be pickled")
