"""LIKE patterns from user text: the one place that escapes ``%``, ``_`` and the escape character."""

from __future__ import annotations

LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards and the escape character taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str) -> str:
    """A pattern matching values that contain ``text`` (use with ``escape=LIKE_ESCAPE``)."""
    return f"%{escape_like(text)}%"


def prefix(text: str) -> str:
    """A pattern matching values that start with ``text`` (use with ``escape=LIKE_ESCAPE``)."""
    return f"{escape_like(text)}%"


def numbered_copies(base: str) -> str:
    """A pattern matching ``base (N)``: the names given to copies of ``base``."""
    return f"{escape_like(base)} (%)"
