"""Payloads stamped onto an executable: round trip, refusals, speed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from certmgr.shared.errors import EnvelopeError, InputError, ValidationError
from certmgr.shared.stamp import (
    KIND_CACERT,
    KIND_DEPLOY,
    MAGIC,
    TRAILER_SIZE,
    DamagedStampError,
    NoStampError,
    cacert_payload,
    deploy_payload,
    has_stamp,
    parse_cacert_payload,
    parse_deploy_payload,
    read_stamp,
    stamp,
)

RUNTIME = b"\x7fELF" + bytes(range(256)) * 40
PAYLOAD = b"sealed package bytes " * 100


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    path = tmp_path / "runtime"
    path.write_bytes(RUNTIME)
    return path


def test_roundtrip_from_a_path(runtime: Path, tmp_path: Path) -> None:
    out = stamp(runtime, PAYLOAD, tmp_path / "installer", KIND_DEPLOY)
    assert out.read_bytes().startswith(RUNTIME)
    assert out.stat().st_size == len(RUNTIME) + len(MAGIC) + len(PAYLOAD) + TRAILER_SIZE
    assert out.stat().st_mode & 0o777 == 0o755
    assert read_stamp(out) == (KIND_DEPLOY, PAYLOAD)
    kind, payload = read_stamp(out)
    assert (kind, payload) == (KIND_DEPLOY, PAYLOAD)
    assert has_stamp(out) and not has_stamp(runtime)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_roundtrip_from_bytes_and_empty_payload(tmp_path: Path) -> None:
    out = stamp(RUNTIME, b"", tmp_path / "x", KIND_CACERT)
    assert read_stamp(out) == (KIND_CACERT, b"")


def test_stamp_replaces_an_existing_output(runtime: Path, tmp_path: Path) -> None:
    out = tmp_path / "installer"
    out.write_bytes(b"old")
    stamp(runtime, PAYLOAD, out, KIND_DEPLOY)
    assert read_stamp(out).payload == PAYLOAD


def test_bare_runtime_carries_no_package(runtime: Path, tmp_path: Path) -> None:
    with pytest.raises(NoStampError, match="carries no package"):
        read_stamp(runtime)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(NoStampError):
        read_stamp(empty)
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"abc")
    with pytest.raises(NoStampError):
        read_stamp(tiny)


def test_refuses_to_stamp_twice_and_bad_kinds(runtime: Path, tmp_path: Path) -> None:
    once = stamp(runtime, PAYLOAD, tmp_path / "once", KIND_DEPLOY)
    with pytest.raises(ValidationError, match="already carries"):
        stamp(once, PAYLOAD, tmp_path / "twice", KIND_DEPLOY)
    with pytest.raises(ValidationError, match="already carries"):
        stamp(once.read_bytes(), PAYLOAD, tmp_path / "twice", KIND_DEPLOY)
    for kind in ("", "Deploy", "a" * 17, "de ploy", "dé"):
        with pytest.raises(ValidationError):
            stamp(runtime, PAYLOAD, tmp_path / "bad", kind)
    assert not (tmp_path / "twice").exists() and not (tmp_path / "bad").exists()


def test_every_flipped_byte_after_the_runtime_is_refused(runtime: Path, tmp_path: Path) -> None:
    good = stamp(runtime, b"0123456789abcdef" * 4, tmp_path / "good", KIND_DEPLOY).read_bytes()
    bad = tmp_path / "bad"
    for offset in range(len(RUNTIME), len(good)):
        data = bytearray(good)
        data[offset] ^= 0x01
        bad.write_bytes(bytes(data))
        with pytest.raises((DamagedStampError, NoStampError)) as info:
            read_stamp(bad)
        # A flipped trailer magic looks like no trailer, but the start marker gives it away.
        assert isinstance(info.value, DamagedStampError), offset
        assert "damaged or truncated" in str(info.value)


def test_every_truncation_is_refused(runtime: Path, tmp_path: Path) -> None:
    good = stamp(runtime, PAYLOAD, tmp_path / "good", KIND_DEPLOY).read_bytes()
    bad = tmp_path / "bad"
    for cut in (1, 2, 8, 31, 32, 33, TRAILER_SIZE - 1, TRAILER_SIZE, TRAILER_SIZE + 1, 500):
        bad.write_bytes(good[:-cut])
        with pytest.raises(DamagedStampError, match="damaged or truncated"):
            read_stamp(bad)
    # Cut into the runtime: nothing of the stamp is left.
    bad.write_bytes(good[: len(RUNTIME) - 10])
    with pytest.raises(NoStampError):
        read_stamp(bad)


def test_garbled_trailer_fields(runtime: Path, tmp_path: Path) -> None:
    good = stamp(runtime, PAYLOAD, tmp_path / "good", KIND_DEPLOY).read_bytes()
    trailer_at = len(good) - TRAILER_SIZE
    bad = tmp_path / "bad"
    for field_at, value in (
        (8, b"DEPLOY"),  # kind not lower-case
        (8, b"\x00" * 16),  # empty kind
        (24, (2**63).to_bytes(8, "big")),  # absurd length
        (24, (len(good)).to_bytes(8, "big")),  # longer than the file
        (24, (len(PAYLOAD) - 1).to_bytes(8, "big")),  # start marker not where it should be
    ):
        data = bytearray(good)
        at = trailer_at + field_at
        data[at : at + len(value)] = value
        bad.write_bytes(bytes(data))
        with pytest.raises(DamagedStampError):
            read_stamp(bad)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_stamp(tmp_path / "missing")
    with pytest.raises(InputError, match="cannot write"):
        stamp(RUNTIME, PAYLOAD, tmp_path / "no" / "such" / "dir", KIND_DEPLOY)


def test_damaged_is_an_envelope_refusal() -> None:
    assert issubclass(DamagedStampError, EnvelopeError)
    assert issubclass(NoStampError, InputError)


def test_stamping_a_25_mb_runtime_is_fast(tmp_path: Path) -> None:
    big = tmp_path / "big-runtime"
    with open(big, "wb") as fh:
        fh.write(os.urandom(1 << 20) * 25)
    payload = os.urandom(200_000)
    started = time.perf_counter()
    out = stamp(big, payload, tmp_path / "big-installer", KIND_DEPLOY)
    stamped_in = time.perf_counter() - started
    started = time.perf_counter()
    assert read_stamp(out).payload == payload
    read_in = time.perf_counter() - started
    assert stamped_in < 1.0, stamped_in
    assert read_in < 0.5, read_in


def test_deploy_payload_roundtrip_and_refusals() -> None:
    key = bytes(range(32))
    raw = deploy_payload(key, b"PKG", name="web01 — nginx")
    parsed = parse_deploy_payload(raw)
    assert (parsed.verify_key, parsed.name, parsed.package) == (key, "web01 — nginx", b"PKG")
    assert parse_deploy_payload(deploy_payload(key, b"P")).name == ""
    with pytest.raises(ValidationError):
        deploy_payload(key[:31], b"PKG")
    with pytest.raises(ValidationError):
        deploy_payload(key, b"")
    with pytest.raises(ValidationError):
        deploy_payload(key, b"P", name="x" * 201)
    with pytest.raises(ValidationError):
        deploy_payload(key, b"P", name="line\nbreak")
    name_end = 10 + 32 + 2 + len("web01 — nginx".encode())
    for broken in (b"", raw[:5], raw[:42], raw[:45], raw[:name_end], b"X" + raw[1:]):
        with pytest.raises(DamagedStampError):
            parse_deploy_payload(broken)
    with pytest.raises(DamagedStampError):
        parse_deploy_payload(cacert_payload(b"PEM"))


def test_cacert_payload_roundtrip_and_refusals() -> None:
    raw = cacert_payload(b"-----BEGIN CERTIFICATE-----\n", name="Example CA")
    parsed = parse_cacert_payload(raw)
    assert (parsed.name, parsed.certificate_pem) == ("Example CA", b"-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ValidationError):
        cacert_payload(b"  \n")
    with pytest.raises(DamagedStampError):
        parse_cacert_payload(deploy_payload(bytes(32), b"P"))
    with pytest.raises(DamagedStampError):
        parse_cacert_payload(raw[:-28])
