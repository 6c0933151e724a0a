r"""Controller identity in the agent API (re-exported by :mod:`certmgr.shared.protocol`).

The controller's identity is its Ed25519 signing key (the one that signs packages), not the
private CA: that CA also issues every definition's certificate, so holding one of those keys
must not let anyone speak for the controller. The enrolment token names the key by its SHA-256
(:func:`controller_key_sha256`) and the agent checks the key it is given at enrolment.

Every 2xx answer to a signed agent request carries, in ``X-Certmgr-Controller-Signature``, the
standard base64 of an Ed25519 signature by that key over::

    f"certmgr-agent-answer-v1\n{METHOD}\n{path_with_query}\n{request_nonce}\n{status}\n{sha256hex(body)}"

The request nonce is the agent's own fresh ``X-Certmgr-Nonce``, so a captured answer cannot be
replayed to another request. The agent acts on no 2xx answer that does not verify (it never
stops as "revoked" on an unsigned answer); error answers carry no signature and the agent only
backs off on them.

Rotation: a new key is announced by the one before it. ``X-Certmgr-Controller-Rotation`` lists
every rotation so far, oldest first, as comma-separated ``b64(new_key).b64(signature)`` where
the previous key signs ``b"certmgr-controller-key-rotation-v1\n" + previous_key + new_key``. An
agent whose pinned key does not verify an answer walks the list from its pinned key
(:func:`follow_rotations`); if the key it reaches verifies the answer, it pins that key for good.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import nacl.exceptions
import nacl.signing

from certmgr.shared.errors import PermissionDeniedError, ValidationError

HEADER_ANSWER_SIGNATURE: Final = "X-Certmgr-Controller-Signature"
HEADER_KEY_ROTATION: Final = "X-Certmgr-Controller-Rotation"
MAX_ROTATIONS: Final = 16
"""Rotations an answer lists at most (an agent offline for more must enrol again)."""

_ANSWER_CONTEXT: Final = "certmgr-agent-answer-v1"
_ROTATION_CONTEXT: Final = b"certmgr-controller-key-rotation-v1\n"
_KEY_B64_LEN: Final = 44
_SIGNATURE_B64_LEN: Final = 88


def controller_key_sha256(verify_key: nacl.signing.VerifyKey | bytes) -> str:
    """Hex SHA-256 of the controller's raw 32-byte Ed25519 public key (what tokens carry)."""
    return hashlib.sha256(bytes(verify_key)).hexdigest()


def answer_signing_string(
    method: str, path_with_query: str, nonce: str, status: int, body: bytes
) -> bytes:
    """The exact bytes the controller signs for one answer (see the module docstring)."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{_ANSWER_CONTEXT}\n{method}\n{path_with_query}\n{nonce}\n{status}\n{digest}".encode()


def sign_answer(
    key: nacl.signing.SigningKey,
    method: str,
    path_with_query: str,
    nonce: str,
    status: int,
    body: bytes,
) -> dict[str, str]:
    """The header that signs one answer.

    Args:
        key: The controller's current signing key.
        method: The request's method.
        path_with_query: The request target exactly as received (aiohttp ``raw_path``).
        nonce: The request's verified ``X-Certmgr-Nonce``.
        status: The answer's HTTP status.
        body: The answer's body bytes.

    Returns:
        Header name to value.
    """
    signature = key.sign(answer_signing_string(method, path_with_query, nonce, status, body))
    return {HEADER_ANSWER_SIGNATURE: base64.b64encode(signature.signature).decode("ascii")}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    found = [v for k, v in headers.items() if k.lower() == wanted]
    if len(found) > 1:
        raise PermissionDeniedError(f"the answer repeats {name}")
    return found[0] if found else None


def answer_verifies(
    verify_key: nacl.signing.VerifyKey,
    headers: Mapping[str, str],
    method: str,
    path_with_query: str,
    nonce: str,
    status: int,
    body: bytes,
) -> bool:
    """Whether ``verify_key`` signed this answer to the request with ``nonce``.

    Raises:
        PermissionDeniedError: The signature header is repeated.
    """
    raw = _header(headers, HEADER_ANSWER_SIGNATURE)
    if raw is None or len(raw) != _SIGNATURE_B64_LEN:
        return False
    try:
        signature = base64.b64decode(raw, validate=True)
        verify_key.verify(
            answer_signing_string(method, path_with_query, nonce, status, body), signature
        )
    except (binascii.Error, ValueError, TypeError, nacl.exceptions.CryptoError):
        return False
    return True


@dataclass(frozen=True)
class KeyRotation:
    """One announced rotation: the new key, signed by the key before it."""

    new_key: bytes
    signature: bytes = field(repr=False)

    def text(self) -> str:
        """``b64(new_key).b64(signature)``."""
        return (
            f"{base64.b64encode(self.new_key).decode()}.{base64.b64encode(self.signature).decode()}"
        )


def sign_rotation(old: nacl.signing.SigningKey, new: nacl.signing.VerifyKey) -> KeyRotation:
    """The announcement of ``new`` by ``old`` (see the module docstring)."""
    message = _ROTATION_CONTEXT + bytes(old.verify_key) + bytes(new)
    return KeyRotation(bytes(new), old.sign(message).signature)


def format_rotations(rotations: Sequence[KeyRotation]) -> str:
    """The ``X-Certmgr-Controller-Rotation`` value (the newest :data:`MAX_ROTATIONS`)."""
    return ",".join(r.text() for r in list(rotations)[-MAX_ROTATIONS:])


def parse_rotations(text: str) -> tuple[KeyRotation, ...]:
    """Parse a ``X-Certmgr-Controller-Rotation`` value.

    Raises:
        ValidationError: Malformed, or more than :data:`MAX_ROTATIONS` entries.
    """
    if not text.strip():
        return ()
    parts = text.split(",")
    if len(parts) > MAX_ROTATIONS:
        raise ValidationError("too many key rotations in the answer", field="rotation")
    out: list[KeyRotation] = []
    for part in parts:
        key_b64, _, sig_b64 = part.strip().partition(".")
        if len(key_b64) != _KEY_B64_LEN or len(sig_b64) != _SIGNATURE_B64_LEN:
            raise ValidationError("a key rotation has the wrong form", field="rotation")
        try:
            out.append(
                KeyRotation(
                    base64.b64decode(key_b64, validate=True),
                    base64.b64decode(sig_b64, validate=True),
                )
            )
        except (binascii.Error, ValueError) as err:
            raise ValidationError("a key rotation has the wrong form", field="rotation") from err
    return tuple(out)


def follow_rotations(
    pinned: nacl.signing.VerifyKey, rotations: Sequence[KeyRotation]
) -> nacl.signing.VerifyKey:
    """The newest key reachable from ``pinned`` through announcements each signed by its predecessor.

    Entries before the pinned key (older rotations) are skipped; an entry that the key reached
    so far did not sign ends the walk.
    """
    current = pinned
    for rotation in rotations:
        message = _ROTATION_CONTEXT + bytes(current) + rotation.new_key
        try:
            current.verify(message, rotation.signature)
        except (ValueError, TypeError, nacl.exceptions.CryptoError):
            if current != pinned:
                break
            continue
        try:
            current = nacl.signing.VerifyKey(rotation.new_key)
        except (ValueError, TypeError, nacl.exceptions.CryptoError):
            break
    return current


def rotations_of(headers: Mapping[str, str]) -> tuple[KeyRotation, ...]:
    """The rotations an answer lists (none when the header is absent).

    Raises:
        PermissionDeniedError: The header is repeated or malformed.
    """
    raw = _header(headers, HEADER_KEY_ROTATION)
    if raw is None:
        return ()
    try:
        return parse_rotations(raw)
    except ValidationError as err:
        raise PermissionDeniedError(f"the answer's key rotation list is damaged: {err}") from err
