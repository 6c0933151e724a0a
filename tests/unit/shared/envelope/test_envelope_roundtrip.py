"""Seal and open: the happy paths, the manifest's own checks and the exported names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import nacl.public
import nacl.signing
import pytest

from certmgr.shared import envelope
from certmgr.shared.envelope import (
    DEFAULT_KDF_LIMITS,
    KdfLimits,
    MalformedPackageError,
    Manifest,
    PackageKind,
    decode_manifest,
    encode_manifest,
    open_for_agent,
    open_with_passphrase,
    package_kind,
    seal_for_agent,
    seal_with_passphrase,
)
from certmgr.shared.errors import InputTooLargeError, ValidationError
from certmgr.shared.secret import Secret

from .conftest import KEY_BYTES, NOW, RECEIPT, STORE_PASSWORD, make_manifest

FAST = KdfLimits.INTERACTIVE


def test_exported_names() -> None:
    assert sorted(envelope.__all__) == sorted(set(envelope.__all__))
    for name in envelope.__all__:
        assert hasattr(envelope, name), name
    assert {
        "Manifest",
        "seal_for_agent",
        "seal_with_passphrase",
        "open_for_agent",
        "open_with_passphrase",
    } <= set(envelope.__all__)


def test_agent_roundtrip(
    manifest: Manifest, controller_key: nacl.signing.SigningKey, agent_key: nacl.public.PrivateKey
) -> None:
    blob = seal_for_agent(manifest, controller_key, agent_key.public_key)
    assert package_kind(blob) is PackageKind.AGENT
    opened = open_for_agent(
        blob, agent_key, controller_key.verify_key, installed_sequence=6, now=NOW
    )
    assert opened == manifest
    assert opened.private_key_pkcs8 == KEY_BYTES
    assert opened.receipt_key == RECEIPT
    assert opened.target_params["store_password"] == STORE_PASSWORD
    assert opened.created_at.tzinfo is dt.UTC


def test_agent_roundtrip_without_key_and_receipt(
    controller_key: nacl.signing.SigningKey, agent_key: nacl.public.PrivateKey
) -> None:
    m = make_manifest(
        controller_key, private_key_pkcs8=None, receipt_key=None, chain_pem=b"", target_params={}
    )
    blob = seal_for_agent(m, controller_key, agent_key.public_key)
    opened = open_for_agent(
        blob, agent_key, controller_key.verify_key, installed_sequence=None, now=NOW
    )
    assert opened.private_key_pkcs8 is None
    assert opened.receipt_key is None
    assert opened == m


def test_sealing_is_randomised(
    manifest: Manifest, controller_key: nacl.signing.SigningKey, agent_key: nacl.public.PrivateKey
) -> None:
    a = seal_for_agent(manifest, controller_key, agent_key.public_key)
    b = seal_for_agent(manifest, controller_key, agent_key.public_key)
    assert a != b
    assert KEY_BYTES not in a


@pytest.mark.parametrize("wrap", [False, True])
def test_passphrase_roundtrip(
    manifest: Manifest, controller_key: nacl.signing.SigningKey, wrap: bool
) -> None:
    pw = b"correct horse battery staple"
    blob = seal_with_passphrase(manifest, controller_key, Secret(pw) if wrap else pw, limits=FAST)
    assert package_kind(blob) is PackageKind.PASSPHRASE
    opened = open_with_passphrase(
        blob, pw, controller_key.verify_key, installed_sequence=None, now=NOW
    )
    assert opened == manifest


def test_default_limits_are_moderate_and_quick_enough(
    manifest: Manifest, controller_key: nacl.signing.SigningKey
) -> None:
    assert DEFAULT_KDF_LIMITS == KdfLimits.MODERATE
    blob = seal_with_passphrase(manifest, controller_key, b"pw")
    start = time.perf_counter()
    opened = open_with_passphrase(
        blob, b"pw", controller_key.verify_key, installed_sequence=None, now=NOW
    )
    assert opened == manifest
    assert time.perf_counter() - start < 5  # about 0.6 s on the 2-core CI box; generous for load


def test_seal_refuses_empty_passphrase_and_silly_limits(
    manifest: Manifest, controller_key: nacl.signing.SigningKey
) -> None:
    with pytest.raises(ValidationError) as info:
        seal_with_passphrase(manifest, controller_key, b"", limits=FAST)
    assert info.value.field == "passphrase"
    with pytest.raises(ValidationError):
        seal_with_passphrase(manifest, controller_key, b"pw", limits=KdfLimits(1, 8192))


def test_seal_refuses_key_id_of_another_key(
    controller_key: nacl.signing.SigningKey, agent_key: nacl.public.PrivateKey
) -> None:
    other = nacl.signing.SigningKey.generate()
    m = make_manifest(controller_key)
    with pytest.raises(ValidationError) as info:
        seal_for_agent(m, other, agent_key.public_key)
    assert info.value.field == "controller_key_id"


def test_seal_refuses_huge_package(
    controller_key: nacl.signing.SigningKey, agent_key: nacl.public.PrivateKey
) -> None:
    m = make_manifest(controller_key, chain_pem=b"x" * (16 * 1024 * 1024))
    with pytest.raises(InputTooLargeError):
        seal_for_agent(m, controller_key, agent_key.public_key)


def test_no_secret_in_repr_or_str(manifest: Manifest) -> None:
    for text in (repr(manifest), str(manifest)):
        assert "TOP-SECRET" not in text
        assert STORE_PASSWORD not in text
        assert repr(RECEIPT) not in text
        assert "private_key_pkcs8" not in text
        assert "deployment_id=42" in text


def test_canonical_json_is_stable(manifest: Manifest) -> None:
    data = encode_manifest(manifest)
    assert data == encode_manifest(decode_manifest(data))
    assert b" " not in data
    assert data.startswith(b'{"certificate_pem":')


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deployment_id": -1}, "deployment_id"),
        ({"sequence": True}, "sequence"),
        ({"sequence": "3"}, "sequence"),
        ({"target_type": ""}, "target_type"),
        ({"controller_key_id": " "}, "controller_key_id"),
        ({"created_at": dt.datetime(2030, 1, 1)}, "created_at"),  # noqa: DTZ001 - naive on purpose
        ({"expires_at": NOW - dt.timedelta(days=1)}, "expires_at"),
        ({"certificate_pem": b""}, "certificate_pem"),
        ({"chain_pem": "text"}, "chain_pem"),
        ({"private_key_pkcs8": b""}, "private_key_pkcs8"),
        ({"receipt_key": b"short"}, "receipt_key"),
        ({"target_params": {"x": {1, 2}}}, "target_params"),
        ({"target_params": {"x": float("nan")}}, "target_params"),
        ({"target_params": {1: "int key"}}, "target_params"),
        ({"target_params": ["not", "a", "dict"]}, "target_params"),
        ({"format_version": 2}, "format_version"),
    ],
)
def test_manifest_checks_fields(
    controller_key: nacl.signing.SigningKey, change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        make_manifest(controller_key, **change)
    assert info.value.field == field


def test_manifest_normalises_to_utc_and_copies_params(
    controller_key: nacl.signing.SigningKey,
) -> None:
    plus2 = dt.timezone(dt.timedelta(hours=2))
    params: dict[str, object] = {"cmd": ("a", "b")}
    m = make_manifest(
        controller_key, created_at=dt.datetime(2030, 1, 1, 14, tzinfo=plus2), target_params=params
    )
    assert m.created_at == dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    assert m.created_at.tzinfo is dt.UTC
    assert m.target_params == {"cmd": ["a", "b"]}
    assert dataclasses.is_dataclass(m)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.sequence = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe",
        b"[1, 2]",
        b'{"format_version": 1, "format_version": 1}',
        b'{"format_version": 1}',
        b'{"format_version": 1, "x": NaN}',
    ],
)
def test_decode_manifest_refuses_garbage(data: bytes) -> None:
    with pytest.raises(MalformedPackageError):
        decode_manifest(data)


def test_decode_manifest_refuses_bad_field_values(manifest: Manifest) -> None:
    good = encode_manifest(manifest)
    for needle, replacement in [
        (b'"sequence":7', b'"sequence":"7"'),
        (b'"receipt_key":"', b'"receipt_key":"!!'),
        (b'"created_at":"2030', b'"created_at":"x2030'),
        (b"+00:00", b""),
    ]:
        assert needle in good
        with pytest.raises(MalformedPackageError):
            decode_manifest(good.replace(needle, replacement, 1))
