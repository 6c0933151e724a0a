"""The sealing side (controller): sign a manifest with Ed25519, then encrypt it."""

from __future__ import annotations

import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.signing
import nacl.utils

from certmgr.shared.envelope import _wire
from certmgr.shared.envelope.manifest import Manifest, encode_manifest
from certmgr.shared.errors import InputTooLargeError, ValidationError
from certmgr.shared.secret import Secret

DEFAULT_KDF_LIMITS = _wire.KdfLimits.MODERATE
"""Argon2id cost used unless the caller picks another (libsodium MODERATE: 3 passes, 256 MiB)."""


def seal_for_agent(
    manifest: Manifest,
    signing_key: nacl.signing.SigningKey,
    agent_x25519_public: nacl.public.PublicKey,
) -> bytes:
    """Sign ``manifest`` and encrypt it to one agent (PyNaCl ``SealedBox``).

    Args:
        manifest: What to install.
        signing_key: The controller's Ed25519 key.
        agent_x25519_public: The agent's X25519 public key, registered at enrolment.

    Returns:
        The package bytes.

    Raises:
        ValidationError: ``manifest.controller_key_id`` does not name ``signing_key``.
        InputTooLargeError: The package would exceed the size cap.
    """
    recipient = bytes(agent_x25519_public)
    payload = _signed_payload(manifest, signing_key, _wire.PackageKind.AGENT, recipient)
    try:
        body = nacl.public.SealedBox(agent_x25519_public).encrypt(payload)
    except (nacl.exceptions.CryptoError, TypeError, ValueError) as err:
        raise ValidationError("cannot encrypt package to the agent key", field="agent_key") from err
    return _capped(_wire.header(_wire.PackageKind.AGENT) + body)


def seal_with_passphrase(
    manifest: Manifest,
    signing_key: nacl.signing.SigningKey,
    passphrase: bytes | Secret[bytes],
    *,
    limits: _wire.KdfLimits = DEFAULT_KDF_LIMITS,
) -> bytes:
    """Sign ``manifest`` and encrypt it under a passphrase (Argon2id + ``SecretBox``).

    Args:
        manifest: What to install.
        signing_key: The controller's Ed25519 key.
        passphrase: The passphrase the installer will be given (non-empty).
        limits: Argon2id cost, stored in the package header.

    Returns:
        The package bytes.

    Raises:
        ValidationError: Empty passphrase, limits out of range, or a key id mismatch.
        InputTooLargeError: The package would exceed the size cap.
    """
    secret = passphrase.reveal() if isinstance(passphrase, Secret) else passphrase
    if not isinstance(secret, bytes) or not secret:
        raise ValidationError("the passphrase must be non-empty bytes", field="passphrase")
    limits.check()
    payload = _signed_payload(
        manifest, signing_key, _wire.PackageKind.PASSPHRASE, _wire.NO_RECIPIENT
    )
    salt = nacl.utils.random(_wire.SALT_SIZE)
    box_key, tag_key = _wire.derive_keys(secret, salt, limits)
    prefix = _wire.header(_wire.PackageKind.PASSPHRASE) + _wire.pack_kdf(salt, limits)
    tag = _wire.header_tag(prefix, tag_key)
    body = nacl.secret.SecretBox(box_key).encrypt(payload)
    return _capped(prefix + tag + bytes(body))


def _signed_payload(
    manifest: Manifest,
    signing_key: nacl.signing.SigningKey,
    kind: _wire.PackageKind,
    recipient: bytes,
) -> bytes:
    expected = _wire.key_id(signing_key.verify_key)
    if manifest.controller_key_id != expected:
        raise ValidationError(
            f"manifest names controller key {manifest.controller_key_id!r}, signing key is {expected!r}",
            field="controller_key_id",
        )
    body = encode_manifest(manifest)
    signature = signing_key.sign(_wire.signed_message(kind, recipient, body)).signature
    return bytes(signature) + body


def _capped(blob: bytes) -> bytes:
    if len(blob) > _wire.MAX_PACKAGE_SIZE:
        raise InputTooLargeError(f"package would exceed the {_wire.MAX_PACKAGE_SIZE} byte cap")
    return blob
