"""Every way a receiver refuses a package: damage, wrong keys, replays, age, size, versions."""

from __future__ import annotations

import datetime as dt

import nacl.public
import nacl.secret
import nacl.signing
import pytest

from certmgr.shared.envelope import (
    MAX_PACKAGE_SIZE,
    AlreadyInstalledPackageError,
    KdfLimits,
    MalformedPackageError,
    Manifest,
    UnsupportedPackageVersionError,
    _wire,
    check_freshness,
    encode_manifest,
    open_for_agent,
    open_with_passphrase,
    seal_for_agent,
    seal_with_passphrase,
)
from certmgr.shared.errors import (
    BadSignatureError,
    EnvelopeError,
    ExpiredPackageError,
    StalePackageError,
    ValidationError,
    WrongPasswordError,
)

from .conftest import NOW, make_manifest

FAST = KdfLimits.INTERACTIVE
PW = b"open sesame"


@pytest.fixture
def agent_blob(
    manifest: Manifest, controller_key: nacl.signing.SigningKey, agent_key: nacl.public.PrivateKey
) -> bytes:
    return seal_for_agent(manifest, controller_key, agent_key.public_key)


@pytest.fixture
def pass_blob(manifest: Manifest, controller_key: nacl.signing.SigningKey) -> bytes:
    return seal_with_passphrase(manifest, controller_key, PW, limits=FAST)


def _open_agent(
    blob: bytes,
    agent_key: nacl.public.PrivateKey,
    controller_key: nacl.signing.SigningKey,
    **kw: object,
) -> Manifest:
    args: dict[str, object] = {"installed_sequence": None, "now": NOW} | kw
    return open_for_agent(blob, agent_key, controller_key.verify_key, **args)  # type: ignore[arg-type]


def _flip(blob: bytes, pos: int) -> bytes:
    return blob[:pos] + bytes([blob[pos] ^ 0xFF]) + blob[pos + 1 :]


def test_flipped_byte_anywhere_in_agent_package(
    agent_blob: bytes, agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    for pos in range(len(agent_blob)):
        expected: type[EnvelopeError]
        if pos < 4 or pos == 5:
            expected = MalformedPackageError  # magic or kind
        elif pos == 4:
            expected = UnsupportedPackageVersionError
        else:
            expected = BadSignatureError
        with pytest.raises(expected):
            _open_agent(_flip(agent_blob, pos), agent_key, controller_key)


def test_flipped_byte_in_passphrase_package(
    pass_blob: bytes, controller_key: nacl.signing.SigningKey
) -> None:
    prefix = _wire.PASSPHRASE_PREFIX_SIZE
    # Each probe costs one Argon2id run, so sample every region instead of every byte.
    cases: dict[int, type[Exception]] = {
        0: MalformedPackageError,
        4: UnsupportedPackageVersionError,
        5: MalformedPackageError,
        6: WrongPasswordError,  # salt
        21: WrongPasswordError,
        25: MalformedPackageError,  # opslimit low byte -> out of range
        26: MalformedPackageError,  # memlimit high byte -> out of range
        33: WrongPasswordError,  # memlimit low byte -> in range, other key
        prefix - 1: WrongPasswordError,  # header tag
        prefix: BadSignatureError,  # nonce
        prefix + 30: BadSignatureError,  # MAC
        prefix + 100: BadSignatureError,
        len(pass_blob) - 1: BadSignatureError,
    }
    for pos, expected in cases.items():
        with pytest.raises(expected):
            open_with_passphrase(
                _flip(pass_blob, pos),
                PW,
                controller_key.verify_key,
                installed_sequence=None,
                now=NOW,
            )


def test_truncated_agent_package(
    agent_blob: bytes, agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    for length in range(len(agent_blob)):
        with pytest.raises(EnvelopeError):
            _open_agent(agent_blob[:length], agent_key, controller_key)


def test_truncated_passphrase_package(
    pass_blob: bytes, controller_key: nacl.signing.SigningKey
) -> None:
    for length in (0, 3, 6, 20, _wire.PASSPHRASE_PREFIX_SIZE - 1):
        with pytest.raises(MalformedPackageError):
            open_with_passphrase(
                pass_blob[:length], PW, controller_key.verify_key, installed_sequence=None, now=NOW
            )
    for length in (
        _wire.PASSPHRASE_PREFIX_SIZE,
        _wire.PASSPHRASE_PREFIX_SIZE + 30,
        len(pass_blob) - 1,
    ):
        with pytest.raises(BadSignatureError):
            open_with_passphrase(
                pass_blob[:length], PW, controller_key.verify_key, installed_sequence=None, now=NOW
            )


def test_huge_blob_is_refused_before_any_work(
    agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    huge = _wire.header(_wire.PackageKind.AGENT) + bytes(MAX_PACKAGE_SIZE)
    with pytest.raises(MalformedPackageError, match="MiB cap"):
        _open_agent(huge, agent_key, controller_key)
    with pytest.raises(MalformedPackageError, match="MiB cap"):
        open_with_passphrase(huge, PW, controller_key.verify_key, installed_sequence=None, now=NOW)


def test_not_a_package(
    agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    for junk in (b"", b"PK\x03\x04zipfile....", b"-----BEGIN CERTIFICATE-----\n"):
        with pytest.raises(MalformedPackageError):
            _open_agent(junk, agent_key, controller_key)


def test_wrong_agent_key(agent_blob: bytes, controller_key: nacl.signing.SigningKey) -> None:
    with pytest.raises(BadSignatureError, match="another agent"):
        _open_agent(agent_blob, nacl.public.PrivateKey.generate(), controller_key)


def test_wrong_controller_key(
    agent_blob: bytes, pass_blob: bytes, agent_key: nacl.public.PrivateKey
) -> None:
    other = nacl.signing.SigningKey.generate()
    with pytest.raises(BadSignatureError, match="pinned controller key"):
        _open_agent(agent_blob, agent_key, other)
    with pytest.raises(BadSignatureError, match="pinned controller key"):
        open_with_passphrase(pass_blob, PW, other.verify_key, installed_sequence=None, now=NOW)


def test_resealed_to_another_agent_is_refused(
    agent_blob: bytes, agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    # Whoever can open a package must not be able to forward it to another agent.
    payload = nacl.public.SealedBox(agent_key).decrypt(agent_blob[6:])
    victim = nacl.public.PrivateKey.generate()
    forged = agent_blob[:6] + nacl.public.SealedBox(victim.public_key).encrypt(payload)
    with pytest.raises(BadSignatureError):
        _open_agent(forged, victim, controller_key)


def test_agent_payload_rewrapped_under_passphrase_is_refused(
    agent_blob: bytes, agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    payload = nacl.public.SealedBox(agent_key).decrypt(agent_blob[6:])
    salt = bytes(16)
    box_key, tag_key = _wire.derive_keys(PW, salt, FAST)
    prefix = _wire.header(_wire.PackageKind.PASSPHRASE) + _wire.pack_kdf(salt, FAST)
    forged = (
        prefix
        + _wire.header_tag(prefix, tag_key)
        + bytes(nacl.secret.SecretBox(box_key).encrypt(payload))
    )
    with pytest.raises(BadSignatureError):
        open_with_passphrase(
            forged, PW, controller_key.verify_key, installed_sequence=None, now=NOW
        )


def test_wrong_and_missing_passphrase(
    pass_blob: bytes, controller_key: nacl.signing.SigningKey
) -> None:
    with pytest.raises(WrongPasswordError, match="wrong passphrase") as info:
        open_with_passphrase(
            pass_blob, b"open sesame!", controller_key.verify_key, installed_sequence=None, now=NOW
        )
    assert "sesame" not in str(info.value)
    with pytest.raises(WrongPasswordError, match="needs a passphrase"):
        open_with_passphrase(
            pass_blob, b"", controller_key.verify_key, installed_sequence=None, now=NOW
        )


def test_kind_mix_ups(
    agent_blob: bytes,
    pass_blob: bytes,
    agent_key: nacl.public.PrivateKey,
    controller_key: nacl.signing.SigningKey,
) -> None:
    with pytest.raises(MalformedPackageError, match="passphrase"):
        _open_agent(pass_blob, agent_key, controller_key)
    with pytest.raises(MalformedPackageError, match="sealed to an agent"):
        open_with_passphrase(
            agent_blob, PW, controller_key.verify_key, installed_sequence=None, now=NOW
        )


def test_stale_equal_and_newer_sequences(
    agent_blob: bytes, agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    with pytest.raises(StalePackageError) as info:
        _open_agent(agent_blob, agent_key, controller_key, installed_sequence=8)
    assert (info.value.seq, info.value.installed_seq) == (7, 8)
    assert not isinstance(info.value, AlreadyInstalledPackageError)
    with pytest.raises(AlreadyInstalledPackageError, match="already installed"):
        _open_agent(agent_blob, agent_key, controller_key, installed_sequence=7)
    assert (
        _open_agent(
            agent_blob, agent_key, controller_key, installed_sequence=7, allow_same=True
        ).sequence
        == 7
    )
    assert _open_agent(agent_blob, agent_key, controller_key, installed_sequence=0).sequence == 7


def test_stale_passphrase_package(
    pass_blob: bytes, controller_key: nacl.signing.SigningKey
) -> None:
    with pytest.raises(StalePackageError):
        open_with_passphrase(
            pass_blob, PW, controller_key.verify_key, installed_sequence=100, now=NOW
        )


def test_expired(
    agent_blob: bytes,
    pass_blob: bytes,
    manifest: Manifest,
    agent_key: nacl.public.PrivateKey,
    controller_key: nacl.signing.SigningKey,
) -> None:
    assert _open_agent(
        agent_blob, agent_key, controller_key, now=manifest.expires_at - dt.timedelta(seconds=1)
    )
    with pytest.raises(ExpiredPackageError):
        _open_agent(agent_blob, agent_key, controller_key, now=manifest.expires_at)
    with pytest.raises(ExpiredPackageError):
        open_with_passphrase(
            pass_blob,
            PW,
            controller_key.verify_key,
            installed_sequence=None,
            now=NOW + dt.timedelta(days=30),
        )


def test_naive_now_is_refused(manifest: Manifest) -> None:
    with pytest.raises(ValidationError):
        check_freshness(manifest, installed_sequence=None, now=dt.datetime(2030, 1, 1))  # noqa: DTZ001


def _signed_agent_blob(
    body: bytes, signing_key: nacl.signing.SigningKey, agent: nacl.public.PublicKey
) -> bytes:
    kind = _wire.PackageKind.AGENT
    sig = signing_key.sign(_wire.signed_message(kind, bytes(agent), body)).signature
    return _wire.header(kind) + nacl.public.SealedBox(agent).encrypt(bytes(sig) + body)


def test_unknown_manifest_format_version(
    manifest: Manifest, agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    body = encode_manifest(manifest).replace(b'"format_version":1', b'"format_version":2')
    blob = _signed_agent_blob(body, controller_key, agent_key.public_key)
    with pytest.raises(UnsupportedPackageVersionError, match="version 2"):
        _open_agent(blob, agent_key, controller_key)


def test_signed_but_invalid_manifest(
    manifest: Manifest, agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    body = encode_manifest(manifest).replace(b'"sequence":7', b'"sequence":-7')
    with pytest.raises(MalformedPackageError, match="sequence"):
        _open_agent(
            _signed_agent_blob(body, controller_key, agent_key.public_key),
            agent_key,
            controller_key,
        )


def test_manifest_naming_another_controller_key(
    agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    m = make_manifest(controller_key, controller_key_id="0" * 32)
    blob = _signed_agent_blob(encode_manifest(m), controller_key, agent_key.public_key)
    with pytest.raises(BadSignatureError, match="names controller key"):
        _open_agent(blob, agent_key, controller_key)


def test_payload_too_short_for_a_signature(
    agent_key: nacl.public.PrivateKey, controller_key: nacl.signing.SigningKey
) -> None:
    blob = _wire.header(_wire.PackageKind.AGENT) + nacl.public.SealedBox(
        agent_key.public_key
    ).encrypt(b"x" * 10)
    with pytest.raises(BadSignatureError, match="too short"):
        _open_agent(blob, agent_key, controller_key)
