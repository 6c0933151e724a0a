"""Certificate fingerprints: SHA-256 is primary, SHA-1 is shown for compatibility."""

from __future__ import annotations

import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

_PLAIN_SHA256 = re.compile(r"[0-9a-f]{64}")


def cert_der(cert: x509.Certificate) -> bytes:
    """DER bytes of a certificate."""
    return cert.public_bytes(serialization.Encoding.DER)


def sha256_fingerprint(cert: x509.Certificate | bytes) -> str:
    """Lower-case hex SHA-256 of the DER certificate, no colons."""
    der = cert if isinstance(cert, bytes) else cert_der(cert)
    return hashlib.sha256(der).hexdigest()


def sha1_fingerprint(cert: x509.Certificate | bytes) -> str:
    """Lower-case hex SHA-1 of the DER certificate, no colons (compatibility only)."""
    der = cert if isinstance(cert, bytes) else cert_der(cert)
    return hashlib.sha1(der, usedforsecurity=False).hexdigest()


def colon_hex(hexstr: str) -> str:
    """``ab12cd`` -> ``AB:12:CD`` (how browsers and openssl show fingerprints)."""
    up = hexstr.upper()
    return ":".join(up[i : i + 2] for i in range(0, len(up), 2))


def normalize_fingerprint(value: str) -> str:
    """Accept ``AB:12:..`` or ``ab12..`` (with spaces) and return lower-case hex without separators."""
    if _PLAIN_SHA256.fullmatch(value):  # already normalized, as stored fingerprints are
        return value
    return "".join(ch for ch in value.lower() if ch in "0123456789abcdef")
