"""Strict checks for :class:`~certmgr.shared.discovery.policy.TrustPolicy`: its JSON form and its fields."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certmgr.shared.errors import ValidationError
from certmgr.shared.text import escape_text

PROTOCOLS: tuple[str, ...] = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
KEY_TYPES: tuple[str, ...] = ("rsa", "ec", "ed25519", "ed448", "dsa")
HASHES: tuple[str, ...] = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
_RANGES: dict[str, tuple[int, int]] = {
    "min_rsa_bits": (512, 16384),
    "min_ec_bits": (160, 571),
    "min_days_left": (0, 3650),
    "max_lifetime_days": (1, 36500),
}
_LISTS: dict[str, tuple[str, ...]] = {
    "allowed_key_types": KEY_TYPES,
    "weak_signature_hashes": HASHES,
}
_KEYS = (
    "trust_system_store",
    *_RANGES,
    *_LISTS,
    "min_protocol",
    "disabled_rules",
    "severities",
)

E = TypeVar("E", bound=StrEnum)


class _Fields(Protocol):
    @property
    def trust_system_store(self) -> bool: ...
    @property
    def allowed_key_types(self) -> tuple[str, ...]: ...
    @property
    def min_protocol(self) -> str | None: ...


def escape(name: x509.Name) -> str:
    """A name as safe RFC 4514 text."""
    try:
        return escape_text(name.rfc4514_string())
    except ValueError:
        return "<unreadable name>"


def spki(cert: x509.Certificate) -> bytes:
    """The certificate's SubjectPublicKeyInfo DER (what a revocation entry names an issuer by)."""
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def as_enum(kind: type[E], value: object, field: str) -> E:
    """``value`` as a member of ``kind``.

    Raises:
        ValidationError: It is not one of its values.
    """
    try:
        return kind(value if isinstance(value, str) else f"<{type(value).__name__}>")
    except ValueError:
        allowed = ", ".join(str(m) for m in kind)
        raise ValidationError(
            f"{field}: {str(value)[:60]!r} is not one of {allowed}", field=field
        ) from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_fields(policy: _Fields) -> None:
    """Check a policy's plain fields; tuples of strings may arrive as lists (made tuples).

    Raises:
        ValidationError: A field has the wrong type or is out of range.
    """
    if not isinstance(policy.trust_system_store, bool):
        raise ValidationError(
            "trust_system_store must be true or false", field="trust_system_store"
        )
    for name, (low, high) in _RANGES.items():
        value = getattr(policy, name)
        if not _is_int(value) or not low <= value <= high:
            raise ValidationError(f"{name} must be a whole number from {low} to {high}", field=name)
    for name, allowed in _LISTS.items():
        value = getattr(policy, name)
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValidationError(f"{name} must be a list of names", field=name)
        for item in value:
            if item not in allowed:
                raise ValidationError(
                    f"{name}: {str(item)[:60]!r} is not one of {', '.join(allowed)}", field=name
                )
        object.__setattr__(policy, name, tuple(dict.fromkeys(value)))
    if not policy.allowed_key_types:
        raise ValidationError("allowed_key_types must name at least one", field="allowed_key_types")
    if policy.min_protocol is not None and policy.min_protocol not in PROTOCOLS:
        raise ValidationError(
            f"min_protocol must be one of {', '.join(PROTOCOLS)} or null", field="min_protocol"
        )


def parse(
    data: Mapping[str, Any], *, rules: type[StrEnum], severities: type[StrEnum]
) -> dict[str, Any]:
    """The constructor arguments of a policy from its JSON form.

    Raises:
        ValidationError: Not an object, an unknown key, or a value of the wrong type.
    """
    if not isinstance(data, Mapping):
        raise ValidationError("a trust policy must be a JSON object", field="policy")
    unknown = [k for k in data if k not in _KEYS]
    if unknown:
        raise ValidationError(
            f"unknown trust-policy field {str(unknown[0])[:60]!r} (known: {', '.join(_KEYS)})",
            field=str(unknown[0]),
        )
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("disabled_rules", *_LISTS):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValidationError(f"{key} must be a list of strings", field=key)
            out[key] = (
                frozenset(as_enum(rules, v, key) for v in value)
                if key == "disabled_rules"
                else tuple(value)
            )
        elif key == "severities":
            if not isinstance(value, Mapping):
                raise ValidationError("severities must be an object of rule: severity", field=key)
            out[key] = {
                as_enum(rules, k, key): as_enum(severities, v, f"{key}.{k}")
                for k, v in value.items()
            }
        elif key == "min_protocol":
            if value is not None and not isinstance(value, str):
                raise ValidationError("min_protocol must be a string or null", field=key)
            out[key] = value
        else:
            out[key] = value  # bool and int fields: checked by the constructor, field named
    return out


def check_protocols(names: Collection[str]) -> tuple[str, ...]:
    """Protocol names as :data:`PROTOCOLS` spells them (``TLSv1.0`` is read as ``TLSv1``).

    Raises:
        ValidationError: An unknown name.
    """
    out = []
    for name in names:
        value = "TLSv1" if name == "TLSv1.0" else name
        if value not in PROTOCOLS:
            raise ValidationError(
                f"unknown protocol {str(name)[:30]!r} (use {', '.join(PROTOCOLS)})",
                field="protocols_offered",
            )
        out.append(value)
    return tuple(dict.fromkeys(out))
