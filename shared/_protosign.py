r"""Request signing of the agent API (re-exported by :mod:`certmgr.shared.protocol`).

After enrolment every agent request carries four headers::

    X-Certmgr-Agent:     the agent id the controller assigned
    X-Certmgr-Timestamp: unix seconds (decimal ASCII digits)
    X-Certmgr-Nonce:     16 to 64 characters of base64url alphabet, fresh per request
    X-Certmgr-Signature: standard base64 of the 64-byte Ed25519 signature over
                         f"{METHOD}\n{path_with_query}\n{timestamp}\n{nonce}\n{sha256hex(body)}"

``path_with_query`` is the request target exactly as sent (``/api/agent/v1/work?wait=25``);
the controller passes aiohttp's ``request.raw_path``. The body hash is lower-case hex SHA-256
(of empty bytes for a GET).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping
from typing import Final

import nacl.exceptions
import nacl.signing

from certmgr.shared.errors import PermissionDeniedError, ValidationError

HEADER_AGENT: Final = "X-Certmgr-Agent"
HEADER_TIMESTAMP: Final = "X-Certmgr-Timestamp"
HEADER_NONCE: Final = "X-Certmgr-Nonce"
HEADER_SIGNATURE: Final = "X-Certmgr-Signature"
SIGNATURE_HEADERS: Final = (HEADER_AGENT, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)

DEFAULT_MAX_SKEW: Final = 300
"""Seconds a request timestamp may differ from the controller's clock."""

AGENT_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What an agent id looks like (opaque to the agent; e.g. the decimal database id)."""

NONCE_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
_METHOD: Final = re.compile(r"[A-Z]{1,10}")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")
_SIGNATURE_B64_LEN: Final = 88


def new_nonce() -> str:
    """A fresh random nonce (22 characters, 128 bits)."""
    return secrets.token_urlsafe(16)


def signing_string(
    method: str, path_with_query: str, timestamp: int, nonce: str, body: bytes
) -> bytes:
    """The exact bytes that are signed (see the module docstring)."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method}\n{path_with_query}\n{timestamp}\n{nonce}\n{digest}".encode()


def sign_request(
    signing_key: nacl.signing.SigningKey,
    agent_id: str,
    method: str,
    path_with_query: str,
    body: bytes,
    now: dt.datetime,
    nonce: str,
) -> dict[str, str]:
    """Sign one request; return the four headers to send with it.

    Args:
        signing_key: The agent's Ed25519 key.
        agent_id: The id the controller assigned at enrolment.
        method: HTTP method, upper case.
        path_with_query: The request target exactly as sent.
        body: The request body bytes (``b""`` for GET).
        now: Aware current time.
        nonce: A fresh nonce (:func:`new_nonce`).

    Returns:
        Header name to value.

    Raises:
        ValidationError: A malformed agent id, method, path, nonce or a naive ``now``.
    """
    if not AGENT_ID_PATTERN.fullmatch(agent_id):
        raise ValidationError("agent id has the wrong form", field="agent_id")
    if not _METHOD.fullmatch(method):
        raise ValidationError("method must be an upper-case HTTP method", field="method")
    if not path_with_query.startswith("/") or any(c in path_with_query for c in "\r\n "):
        raise ValidationError("path must be an absolute request target", field="path")
    if not NONCE_PATTERN.fullmatch(nonce):
        raise ValidationError("nonce has the wrong form", field="nonce")
    if now.utcoffset() is None:
        raise ValidationError("now must be an aware datetime", field="now")
    timestamp = int(now.timestamp())
    signature = signing_key.sign(
        signing_string(method, path_with_query, timestamp, nonce, body)
    ).signature
    return {
        HEADER_AGENT: agent_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


def _one_per_name(headers: Mapping[str, str]) -> dict[str, str]:
    wanted = {h.lower() for h in SIGNATURE_HEADERS}
    found: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key not in wanted:
            continue
        if key in found:
            raise PermissionDeniedError(f"header {name} appears more than once")
        found[key] = value
    for name in SIGNATURE_HEADERS:
        if name.lower() not in found:
            raise PermissionDeniedError(f"request is not signed (no {name} header)")
    return found


def agent_id_of(headers: Mapping[str, str]) -> str:
    """The claimed agent id of a signed request, before its signature is checked.

    The controller uses it to look up the agent's verify key, then calls :func:`verify_request`.

    Args:
        headers: Request headers (any case; a multidict's ``items()`` may repeat names).

    Returns:
        The agent id (not yet authenticated).

    Raises:
        PermissionDeniedError: Headers missing, repeated, or the id has the wrong form.
    """
    agent_id = _one_per_name(headers)[HEADER_AGENT.lower()]
    if not AGENT_ID_PATTERN.fullmatch(agent_id):
        raise PermissionDeniedError("agent id header has the wrong form")
    return agent_id


def verify_request(
    verify_key: nacl.signing.VerifyKey,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    now: dt.datetime,
    max_skew: int = DEFAULT_MAX_SKEW,
) -> tuple[str, str]:
    """Check a signed agent request.

    The caller must still refuse a nonce it has already seen for this agent: store each
    accepted ``(agent_id, nonce)`` for at least ``2 * max_skew`` seconds (a timestamp is
    accepted from ``now - max_skew`` to ``now + max_skew``).

    Args:
        verify_key: The agent's Ed25519 public key registered at enrolment.
        headers: Request headers (any case).
        method: The request's HTTP method.
        path: The request target exactly as received (aiohttp ``request.raw_path``).
        body: The raw body bytes.
        now: Aware current time.
        max_skew: Largest accepted clock difference in seconds.

    Returns:
        ``(agent_id, nonce)`` of the verified request.

    Raises:
        PermissionDeniedError: Missing or repeated headers, malformed values, a timestamp
            outside the window, or a signature that does not verify.
    """
    found = _one_per_name(headers)
    agent_id = agent_id_of(headers)
    raw_ts, nonce = found[HEADER_TIMESTAMP.lower()], found[HEADER_NONCE.lower()]
    raw_sig = found[HEADER_SIGNATURE.lower()]
    if not _TIMESTAMP.fullmatch(raw_ts):
        raise PermissionDeniedError("request timestamp has the wrong form", actor=agent_id)
    if not NONCE_PATTERN.fullmatch(nonce):
        raise PermissionDeniedError("request nonce has the wrong form", actor=agent_id)
    if now.utcoffset() is None:
        raise PermissionDeniedError("server clock is naive", actor=agent_id)
    skew = abs(int(now.timestamp()) - int(raw_ts))
    if skew > max_skew:
        raise PermissionDeniedError(
            f"request timestamp is {skew} s away from the controller's clock (limit {max_skew} s)",
            actor=agent_id,
        )
    if len(raw_sig) != _SIGNATURE_B64_LEN:
        raise PermissionDeniedError("request signature has the wrong form", actor=agent_id)
    try:
        signature = base64.b64decode(raw_sig, validate=True)
        verify_key.verify(signing_string(method, path, int(raw_ts), nonce, body), signature)
    except (binascii.Error, ValueError, TypeError, nacl.exceptions.CryptoError) as err:
        raise PermissionDeniedError("request signature is invalid", actor=agent_id) from err
    return agent_id, nonce
