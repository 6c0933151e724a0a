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
