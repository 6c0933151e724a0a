"""ARI certificate ids (RFC 9773 §4.1) and renewalInfo parsing."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from acme.client import _renewal_info_path_component
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certmgr.controller.issuers.acme_ari import (
    DEFAULT_RETRY_AFTER,
    MAX_RETRY_AFTER,
    MIN_RETRY_AFTER,
    RenewalWindow,
    ari_cert_id,
    parse_renewal_info,
)
from certmgr.controller.issuers.acme_errors import AcmeRejectedError
from certmgr.shared.errors import ValidationError

_KEY = ec.generate_private_key(ec.SECP256R1())
_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ari.test")])


def _cert(serial: int, key_id: bytes | None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_NAME)
        .issuer_name(_NAME)
        .public_key(_KEY.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if key_id is not None:
        aki = x509.AuthorityKeyIdentifier(key_id, None, None)
        builder = builder.add_extension(aki, critical=False)
    return builder.sign(_KEY, hashes.SHA256())


def test_rfc_9773_example() -> None:
    key_id = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
    assert ari_cert_id(_cert(0x87654321, key_id)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"


@pytest.mark.parametrize(
    ("serial", "encoded"),
    [(0x7F, "fw"), (0x80, "AIA"), (0xFF, "AP8"), (0x0100, "AQA"), (1, "AQ")],
)
def test_serial_is_the_der_integer_content(serial: int, encoded: str) -> None:
    assert ari_cert_id(_cert(serial, b"\x01\x02")).split(".")[1] == encoded


def test_matches_the_acme_library_for_random_serials() -> None:
    rng = random.Random(7)
    for _ in range(40):
        cert = _cert(rng.getrandbits(rng.choice([63, 64, 128, 159])) | 1, rng.randbytes(20))
        assert ari_cert_id(cert) == _renewal_info_path_component(cert)


def test_no_authority_key_identifier_is_refused() -> None:
    with pytest.raises(ValidationError, match="authority key identifier"):
        ari_cert_id(_cert(5, None))


def _body(start: str, end: str) -> dict[str, object]:
    return {"suggestedWindow": {"start": start, "end": end}, "explanationURL": "https://ca/why"}


def test_window_is_parsed_as_aware_utc() -> None:
    w = parse_renewal_info(_body("2025-01-02T04:00:00Z", "2025-01-03T04:00:00+02:00"), 120.0)
    assert w.start == dt.datetime(2025, 1, 2, 4, tzinfo=dt.UTC)
    assert w.end == dt.datetime(2025, 1, 3, 2, tzinfo=dt.UTC)
    assert w.retry_after == 120.0
    assert w.explanation_url == "https://ca/why"


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, DEFAULT_RETRY_AFTER), (1.0, MIN_RETRY_AFTER), (10 * 86400.0, MAX_RETRY_AFTER)],
)
def test_retry_after_default_and_bounds(header: float | None, expected: float) -> None:
    w = parse_renewal_info(_body("2025-01-02T04:00:00Z", "2025-01-03T04:00:00Z"), header)
    assert w.retry_after == expected


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"suggestedWindow": "soon"},
        _body("2025-01-03T04:00:00Z", "2025-01-02T04:00:00Z"),
        _body("2025-01-02T04:00:00", "2025-01-03T04:00:00Z"),
        _body("yesterday", "2025-01-03T04:00:00Z"),
        {"suggestedWindow": {"start": "2025-01-02T04:00:00Z"}},
    ],
)
def test_malformed_windows_are_upstream_errors(body: dict[str, object]) -> None:
    with pytest.raises(AcmeRejectedError, match="renewalInfo"):
        parse_renewal_info(body, None)


def test_pick_time_stays_inside_the_window() -> None:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    window = RenewalWindow(start, start + dt.timedelta(hours=5))
    rng = random.Random(1)
    picks = [window.pick_time(rng) for _ in range(200)]
    assert all(window.start <= p <= window.end for p in picks)
    assert len(set(picks)) > 150
