"""The opening side (agent, one-click installer): decrypt, verify the signature, check freshness."""

from __future__ import annotations

import datetime as dt
import hmac

import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.signing

from certmgr.shared.envelope import _wire
from certmgr.shared.envelope.manifest import (
    MalformedPackageError,
    Manifest,
    check_freshness,
    decode_manifest,
)
from certmgr.shared.errors import BadSignatureError, ValidationError, WrongPasswordError
from certmgr.shared.secret import Secret


def package_kind(blob: bytes) -> _wire.PackageKind:
    """Tell an agent package from a passphrase package without opening it.

    Raises:
        MalformedPackageError: Not a package (or too large / truncated).
        UnsupportedPackageVersionError: An unknown wire version.
    """
    kind, _ = _wire.split_header(blob)
    return kind


def open_for_agent(
    blob: bytes,
    agent_private: nacl.public.PrivateKey,
    controller_verify_key: nacl.signing.VerifyKey,
    *,
    installed_sequence: int | None,
    now: dt.datetime,
    allow_same: bool = False,
) -> Manifest:
    """Decrypt and verify a package sealed to this agent.

    Args:
        blob: The package bytes.
        agent_private: This agent's X25519 private key.
        controller_verify_key: The controller key pinned at enrolment.
        installed_sequence: The sequence installed for this deployment, or None.
        now: The current time (aware).
        allow_same: Accept a sequence equal to ``installed_sequence`` (re-install).

    Returns:
        The verified manifest.

    Raises:
        MalformedPackageError: Not a package, truncated, too large, a passphrase package,
            or a signed but invalid manifest.
        UnsupportedPackageVersionError: Unknown wire or manifest format version.
        BadSignatureError: Not for this agent, damaged, or not signed by the pinned controller key.
        StalePackageError: Older than the installed sequence (``AlreadyInstalledPackageError``
            when equal and ``allow_same`` is false).
        ExpiredPackageError: The package has expired.
    """
    kind, body = _wire.split_header(blob)
    if kind is not _wire.PackageKind.AGENT:
        raise MalformedPackageError(
            "this package is protected by a passphrase, not sealed to an agent"
        )
    try:
        payload = nacl.public.SealedBox(agent_private).decrypt(body)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as err:
        raise BadSignatureError(
            "package cannot be decrypted with this agent's key (sent to another agent, or damaged)"
        ) from err
    recipient = bytes(agent_private.public_key)
    manifest = _verified(payload, kind, recipient, controller_verify_key)
    check_freshness(manifest, installed_sequence=installed_sequence, now=now, allow_same=allow_same)
    return manifest


def open_with_passphrase(
    blob: bytes,
    passphrase: bytes | Secret[bytes],
    controller_verify_key: nacl.signing.VerifyKey,
    *,
    installed_sequence: int | None,
    now: dt.datetime,
    allow_same: bool = False,
) -> Manifest:
    """Decrypt and verify a passphrase-protected package.

    Args:
        blob: The package bytes.
        passphrase: The passphrase the administrator gave.
        controller_verify_key: The controller key built into the installer.
        installed_sequence: The sequence installed for this deployment, or None.
        now: The current time (aware).
        allow_same: Accept a sequence equal to ``installed_sequence`` (re-install).

    Returns:
        The verified manifest.

    Raises:
        WrongPasswordError: Empty or wrong passphrase (or a damaged header).
        MalformedPackageError: Not a package, truncated, too large, an agent package,
            unsupported key-derivation limits, or a signed but invalid manifest.
        UnsupportedPackageVersionError: Unknown wire or manifest format version.
        BadSignatureError: Damaged ciphertext, or not signed by the pinned controller key.
        StalePackageError: Older than the installed sequence (``AlreadyInstalledPackageError``
            when equal and ``allow_same`` is false).
        ExpiredPackageError: The package has expired.
    """
    kind, body = _wire.split_header(blob)
    if kind is not _wire.PackageKind.PASSPHRASE:
        raise MalformedPackageError("this package is sealed to an agent; it has no passphrase")
    salt, limits, tag, boxed = _wire.unpack_kdf(body)
    secret = passphrase.reveal() if isinstance(passphrase, Secret) else passphrase
    if not secret:
        raise WrongPasswordError("this package needs a passphrase")
    try:
        box_key, tag_key = _wire.derive_keys(secret, salt, limits)
    except ValidationError as err:
        raise MalformedPackageError("package key derivation failed") from err
    prefix = blob[: _wire.PASSPHRASE_PREFIX_SIZE - _wire.TAG_SIZE]
    if not hmac.compare_digest(_wire.header_tag(bytes(prefix), tag_key), tag):
        raise WrongPasswordError("wrong passphrase for this package")
    try:
        payload = nacl.secret.SecretBox(box_key).decrypt(boxed)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as err:
        raise BadSignatureError(
            "package is damaged or was altered (authentication failed)"
        ) from err
    manifest = _verified(payload, kind, _wire.NO_RECIPIENT, controller_verify_key)
    check_freshness(manifest, installed_sequence=installed_sequence, now=now, allow_same=allow_same)
    return manifest


def _verified(
    payload: bytes, kind: _wire.PackageKind, recipient: bytes, verify_key: nacl.signing.VerifyKey
) -> Manifest:
    if len(payload) <= _wire.SIGNATURE_SIZE:
        raise BadSignatureError("package payload is too short to carry a signature")
    signature, body = payload[: _wire.SIGNATURE_SIZE], payload[_wire.SIGNATURE_SIZE :]
    try:
        verify_key.verify(_wire.signed_message(kind, recipient, body), signature)
    except (
        nacl.exceptions.BadSignatureError,
        nacl.exceptions.CryptoError,
        ValueError,
        TypeError,
    ) as err:
        raise BadSignatureError("package signature is not from the pinned controller key") from err
    manifest = decode_manifest(body)
    expected = _wire.key_id(verify_key)
    if manifest.controller_key_id != expected:
        raise BadSignatureError(
            f"package names controller key {manifest.controller_key_id!r}, pinned key is {expected!r}"
        )
    return manifest
