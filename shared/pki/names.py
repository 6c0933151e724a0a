"""Names: subject alternative names and distinguished names, parsed from user text."""

from __future__ import annotations

import ipaddress
import re

from cryptography import x509
from cryptography.x509.oid import NameOID

from certmgr.shared.errors import ValidationError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# The common case in one match: an ASCII name whose labels all pass _LABEL (IDNA leaves it as it is).
_ASCII_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*")

_DN_KEYS = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "DC": NameOID.DOMAIN_COMPONENT,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
}


def normalize_dns_name(value: str, *, field: str = "san") -> str:
    """Lower-case, IDNA-encode and check a DNS name (``*.`` wildcard allowed in the first label).

    Raises:
        ValidationError: Not a valid DNS name.
    """
    name = value.strip().rstrip(".").lower()
    if not name:
        raise ValidationError("empty DNS name", field=field)
    wildcard = name.startswith("*.")
    core = name[2:] if wildcard else name
    if len(core) <= 253 and _ASCII_NAME.fullmatch(core):
        return name
    try:
        core = core.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"{value!r} is not a valid DNS name", field=field) from None
    labels = core.split(".")
    if len(core) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(f"{value!r} is not a valid DNS name", field=field)
    return ("*." if wildcard else "") + core


def is_dns_name(value: str) -> bool:
    """True when :func:`normalize_dns_name` accepts ``value``."""
    try:
        normalize_dns_name(value)
    except ValidationError:
        return False
    return True


def parse_san(value: str, *, field: str = "san") -> x509.GeneralName:
    """``www.example.com``, ``*.example.com``, ``192.0.2.1``, ``2001:db8::1`` (optionally ``DNS:``/``IP:``).

    Raises:
        ValidationError: Neither an IP address nor a DNS name.
    """
    text = value.strip()
    upper = text.upper()
    if upper.startswith("IP:"):
        try:
            return x509.IPAddress(ipaddress.ip_address(text[3:].strip()))
        except ValueError:
            raise ValidationError(f"{value!r} is not an IP address", field=field) from None
    if upper.startswith("DNS:"):
        return x509.DNSName(normalize_dns_name(text[4:], field=field))
    if ":" in text or text.replace(".", "").isdigit():  # anything else is no IP address
        try:
            return x509.IPAddress(ipaddress.ip_address(text))
        except ValueError:
            pass
    return x509.DNSName(normalize_dns_name(text, field=field))


def san_text(name: x509.GeneralName) -> str:
    """The plain text of a DNS or IP SAN (as :func:`parse_san` reads it)."""
    if isinstance(name, x509.IPAddress):
        return str(name.value)
    return str(name.value)


def parse_sans(
    values: list[str] | tuple[str, ...], *, field: str = "san"
) -> list[x509.GeneralName]:
    """Parse and de-duplicate SANs, keeping their order.

    Raises:
        ValidationError: One of them is invalid.
    """
    out: list[x509.GeneralName] = []
    seen: set[str] = set()
    for v in values:
        if not v.strip():
            continue
        gn = parse_san(v, field=field)
        key = san_text(gn)
        if key not in seen:
            seen.add(key)
            out.append(gn)
    return out


def parse_dn(text: str, *, field: str = "subject") -> x509.Name:
    """Parse ``CN=Example Root,O=Example,C=DE`` or OpenSSL's ``/CN=Example Root/O=Example``.

    Commas inside values can be escaped with a backslash.

    Raises:
        ValidationError: Malformed or unknown attribute, or a bad country code.
    """
    raw = text.strip()
    if not raw:
        raise ValidationError("the distinguished name is empty", field=field)
    parts = _split_dn(raw[1:], "/") if raw.startswith("/") else _split_dn(raw, ",")
    attrs: list[x509.NameAttribute[str]] = []
    for part in parts:
        if "=" not in part:
            raise ValidationError(f"{part!r} is not KEY=value in {text!r}", field=field)
        k, v = part.split("=", 1)
        key = k.strip().upper()
        value = v.strip()
        if key not in _DN_KEYS:
            raise ValidationError(
                f"unknown attribute {k.strip()!r} (use {', '.join(_DN_KEYS)})", field=field
            )
        if not value:
            raise ValidationError(f"{key} is empty", field=field)
        if key == "C" and (len(value) != 2 or not value.isalpha()):
            raise ValidationError("C must be a two-letter country code", field=field)
        if len(value) > 64 and key in ("CN", "O", "OU", "L", "ST"):
            raise ValidationError(f"{key} is longer than 64 characters", field=field)
        attrs.append(x509.NameAttribute(_DN_KEYS[key], value.upper() if key == "C" else value))
    return x509.Name(attrs)


def _split_dn(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (q.strip() for q in parts) if p]


def build_name(
    common_name: str = "",
    *,
    organization: str = "",
    organizational_unit: str = "",
    locality: str = "",
    state: str = "",
    country: str = "",
) -> x509.Name:
    """A subject name from its parts (empty parts are left out)."""
    attrs: list[x509.NameAttribute[str]] = []
    for oid, value in (
        (NameOID.COUNTRY_NAME, country.upper()),
        (NameOID.STATE_OR_PROVINCE_NAME, state),
        (NameOID.LOCALITY_NAME, locality),
        (NameOID.ORGANIZATION_NAME, organization),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, organizational_unit),
        (NameOID.COMMON_NAME, common_name),
    ):
        if value:
            attrs.append(x509.NameAttribute(oid, value))
    return x509.Name(attrs)
