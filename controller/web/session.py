"""The console's session cookie: the server-side session's id, encrypted (AES-GCM, key from the master key)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from certmgr.controller.vault import MasterKey

COOKIE = "__Host-certmgr"
PRE_COOKIE = "__Host-certmgr-pre"  # CSRF token for the sign-in form, before a session exists
_AAD = b"certmgr-session-v2"


@dataclass(frozen=True)
class SessionData:
    """What the cookie carries: the id of a session kept in the database, and its CSRF token."""

    sid: str = field(repr=False)
    csrf: str = field(repr=False)


class SessionCodec:
    """Encrypts and authenticates session cookies."""

    def __init__(self, vault: MasterKey) -> None:
        """Derive the cookie key from the master key."""
        self._aead = AESGCM(vault.derive("session-cookie").reveal())

    def encode(self, data: SessionData) -> str:
        """Cookie value for ``data``."""
        nonce = os.urandom(12)
        ct = self._aead.encrypt(
            nonce, json.dumps(asdict(data), separators=(",", ":")).encode(), _AAD
        )
        return base64.urlsafe_b64encode(nonce + ct).decode().rstrip("=")

    def decode(self, value: str | None) -> SessionData | None:
        """The session in a cookie value, or None when absent, forged, or malformed."""
        if not value or len(value) > 4096:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(raw[:12], raw[12:], _AAD)
            d = json.loads(plain)
            return SessionData(sid=str(d["sid"]), csrf=str(d["csrf"]))
        except (ValueError, KeyError, TypeError, InvalidTag, binascii.Error):
            return None


def new_csrf() -> str:
    """A fresh CSRF token."""
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


FLASH_COOKIE = "__Host-certmgr-flash"


def encode_flash(codec: SessionCodec, message: str, level: str = "ok") -> str:
    """An encrypted one-shot message for the next page."""
    nonce = os.urandom(12)
    ct = codec._aead.encrypt(
        nonce, json.dumps({"m": message[:500], "l": level}).encode(), b"certmgr-flash"
    )  # noqa: SLF001
    return base64.urlsafe_b64encode(nonce + ct).decode().rstrip("=")


def decode_flash(codec: SessionCodec, value: str | None) -> tuple[str, str] | None:
    """(message, level) from a flash cookie, or None."""
    if not value or len(value) > 2048:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        d = json.loads(codec._aead.decrypt(raw[:12], raw[12:], b"certmgr-flash"))  # noqa: SLF001
        return str(d["m"]), str(d.get("l", "ok"))
    except (ValueError, KeyError, TypeError, InvalidTag, binascii.Error):
        return None
