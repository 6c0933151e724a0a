"""Text from certificates and peers, made safe to print (no cryptography here: CLIs load it first)."""

from __future__ import annotations


def escape_text(value: str) -> str:
    r"""``value`` with control and format characters written as ``\xNN``/``\uNNNN``.

    Certificates from appliances and old CAs may hold line breaks, escape sequences or
    right-to-left overrides in names; shown raw they would forge lines of output or hide text.
    """
    if value.isprintable():
        return value
    return "".join(_escape_char(c) for c in value)


def _escape_char(c: str) -> str:
    if c.isprintable() or c == " ":
        return c
    code = ord(c)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def error_text(err: BaseException) -> str:
    """``ClassName: message`` (at most 300 characters of the message) for a log line.

    Failures of background work are logged with this and no traceback: a traceback's frames may
    hold secrets (keys, passwords) that a log must never carry.
    """
    return f"{err.__class__.__name__}: {str(err)[:300]}"
