"""Receipt codes and check codes: round trips, tolerant parsing, every edit refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from certmgr.shared.deploycheck import CheckOutcome
from certmgr.shared.errors import BadSignatureError, ValidationError
from certmgr.shared.receipt import (
    CheckResult,
    check_code_deployment_id,
    check_key_text,
    make_check_code,
    make_receipt,
    new_check_key,
    parse_check_code,
    parse_check_key,
    parse_receipt,
    receipt_deployment_id,
    result_of,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SHA = "c384526ed28cd1e46de5fa308f90bbb313dbd180497f57c540d2bdc75a93f2a2"
AT = dt.datetime(2030, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
_CODE = re.compile(r"CMR1(-[A-Z2-7]{8}){8}")


def _receipt(**overrides: object) -> str:
    args: dict[str, object] = {
        "deployment_id": 42,
        "sequence": 7,
        "sha256": SHA,
        "result": CheckResult.OK,
        "at": AT,
        "receipt_key": KEY,
    }
    args.update(overrides)
    return make_receipt(**args)  # type: ignore[arg-type]


def test_receipt_roundtrip() -> None:
    code = _receipt()
    assert _CODE.fullmatch(code), code
    r = parse_receipt(code, KEY)
    assert (r.deployment_id, r.sequence, r.result, r.at) == (42, 7, CheckResult.OK, AT)
    assert r.sha256_prefix == SHA[:32]
    assert r.matches(SHA) and r.matches(":".join(SHA[i : i + 2] for i in range(0, 64, 2)).upper())
    assert not r.matches("0" * 64)
    assert receipt_deployment_id(code) == 42


@pytest.mark.parametrize("result", list(CheckResult))
def test_every_result_travels(result: CheckResult) -> None:
    assert parse_receipt(_receipt(result=result), KEY).result is result


def test_extremes() -> None:
    r = parse_receipt(_receipt(deployment_id=2**32 - 1, sequence=0), KEY)
    assert (r.deployment_id, r.sequence) == (2**32 - 1, 0)


def test_parsing_tolerates_how_people_copy_codes() -> None:
    code = _receipt()
    body = code.replace("-", "")
    variants = [
        code.lower(),
        f"  {code}\n",
        body,
        " ".join(body[i : i + 4] for i in range(0, len(body), 4)),
        code.replace("-", "\n"),
        code.replace("O", "0").replace("I", "1").replace("B", "8"),
    ]
    for text in variants:
        assert parse_receipt(text, KEY).sequence == 7, text


def test_every_single_character_typo_is_refused() -> None:
    code = _receipt()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    body_start = len("CMR1-")
    for i in range(body_start, len(code)):
        if code[i] == "-":
            continue
        wrong = alphabet[(alphabet.index(code[i]) + 1) % 32]
        typo = code[:i] + wrong + code[i + 1 :]
        with pytest.raises(BadSignatureError, match="typo|another"):
            parse_receipt(typo, KEY)


def test_dropped_swapped_and_extra_characters_are_refused() -> None:
    code = _receipt()
    for text in (
        code[:-1],
        code[:-8],
        code + "A",
        code + "AAAAAAAA",
        code[:10] + code[11] + code[10] + code[12:],
        code[:12] + "9" + code[13:],
        code[:12] + "!" + code[13:],
    ):
        if text == code:
            continue
        with pytest.raises(BadSignatureError):
            parse_receipt(text, KEY)


def test_wrong_key_and_wrong_kind_of_code() -> None:
    code = _receipt()
    with pytest.raises(BadSignatureError, match="another"):
        parse_receipt(code, OTHER_KEY)
    with pytest.raises(ValidationError, match="not a certmgr receipt code"):
        parse_receipt("hello", KEY)
    with pytest.raises(ValidationError, match="not a certmgr receipt code"):
        parse_receipt("", KEY)
    with pytest.raises(ValidationError, match="check code, not a receipt"):
        parse_receipt("CMC1-AAAA", KEY)
    with pytest.raises(ValidationError, match="at least 16 bytes"):
        parse_receipt(code, b"short")


def test_make_receipt_refuses_bad_values() -> None:
    for bad in (
        {"deployment_id": -1},
        {"deployment_id": 2**32},
        {"sequence": True},
        {"sha256": "abc"},
        {"at": dt.datetime(2030, 1, 1)},  # noqa: DTZ001 - naive on purpose
        {"at": dt.datetime(1960, 1, 1, tzinfo=dt.UTC)},
        {"receipt_key": b"x" * 15},
    ):
        with pytest.raises(ValidationError):
            _receipt(**bad)


def test_a_code_from_a_newer_format_is_named_as_such() -> None:
    import base64
    import hashlib
    import hmac

    body = bytes([2]) + bytes(29)
    tag = hmac.new(KEY, b"certmgr receipt code v1\x00" + body, hashlib.sha256).digest()[:10]
    text = "CMR1" + base64.b32encode(body + tag).decode()
    with pytest.raises(BadSignatureError, match="newer certmgr"):
        parse_receipt(text, KEY)


def _outcome(**overrides: object) -> CheckOutcome:
    fields: dict[str, object] = {
        "ok": True,
        "reachable": True,
        "served_sha256": SHA,
        "matches_current": True,
        "chain_complete": True,
        "chain_in_order": True,
        "missing_intermediates": [],
        "extra_certs": [],
        "days_left": 29,
        "hostname_matches": True,
        "protocol": "TLSv1.3",
        "cipher": "TLS_AES_256_GCM_SHA384",
        "problems": [],
    }
    fields.update(overrides)
    return CheckOutcome(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, CheckResult.OK),
        ({"ok": False, "reachable": False, "served_sha256": None}, CheckResult.UNREACHABLE),
        ({"ok": False, "served_sha256": None}, CheckResult.TLS_FAILED),
        ({"ok": False, "matches_current": False}, CheckResult.WRONG_CERTIFICATE),
        ({"ok": False, "days_left": -1}, CheckResult.EXPIRED),
        ({"ok": False, "chain_complete": False}, CheckResult.CHAIN_INCOMPLETE),
        ({"ok": False, "chain_in_order": False}, CheckResult.CHAIN_ORDER),
        ({"ok": False, "hostname_matches": False}, CheckResult.NAME_MISMATCH),
        ({"ok": False}, CheckResult.FAILED),
    ],
)
def test_result_of(overrides: dict[str, object], expected: CheckResult) -> None:
    assert result_of(_outcome(**overrides)) is expected


def test_result_of_no_check() -> None:
    assert result_of(None) is CheckResult.SKIPPED
    assert CheckResult.OK.passed and not CheckResult.SKIPPED.passed


def test_check_code_roundtrip() -> None:
    key = new_check_key()
    code = make_check_code(_outcome(), key, deployment_id=9, port=8443, now=AT)
    assert re.fullmatch(r"CMC1(-[A-Z2-7]{8}){8}", code), code
    c = parse_check_code(code, key)
    assert (c.deployment_id, c.result, c.days_left, c.port, c.at) == (
        9,
        CheckResult.OK,
        29,
        8443,
        AT,
    )
    assert c.served_sha256_prefix == SHA[:32] and c.matches(SHA)
    assert check_code_deployment_id(code) == 9


def test_check_code_without_a_served_certificate() -> None:
    outcome = _outcome(ok=False, reachable=False, served_sha256=None, days_left=None)
    code = make_check_code(outcome, KEY, deployment_id=1, port=443, now=AT)
    c = parse_check_code(code, KEY)
    assert c.result is CheckResult.UNREACHABLE
    assert c.served_sha256_prefix is None and c.days_left is None and not c.matches(SHA)


def test_check_code_clamps_days_and_refuses_edits() -> None:
    code = make_check_code(_outcome(days_left=10**6), KEY, deployment_id=1, port=443, now=AT)
    assert parse_check_code(code, KEY).days_left == 32767
    with pytest.raises(BadSignatureError, match="another deployment"):
        parse_check_code(code, OTHER_KEY)
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    with pytest.raises(BadSignatureError):
        parse_check_code(typo, KEY)
    with pytest.raises(ValidationError, match="receipt code, not a check"):
        parse_check_code(_receipt(), KEY)
    with pytest.raises(ValidationError):
        make_check_code(_outcome(), KEY, deployment_id=1, port=0, now=AT)


def test_receipts_and_check_codes_are_not_interchangeable() -> None:
    # Same key, same bytes length: the domain strings keep one from passing as the other.
    receipt = _receipt()
    forged = "CMC1" + receipt[4:]
    with pytest.raises(BadSignatureError):
        parse_check_code(forged, KEY)


def test_check_key_text_roundtrip_and_typos() -> None:
    key = new_check_key()
    text = check_key_text(key)
    assert text.startswith("CMK1-")
    assert parse_check_key(text.lower().replace("-", " ")) == key
    typo = text[:-2] + ("A" if text[-2] != "A" else "B") + text[-1]
    with pytest.raises(ValidationError, match="typo"):
        parse_check_key(typo)
    with pytest.raises(ValidationError):
        parse_check_key("CMK1-!!!!")
    with pytest.raises(ValidationError):
        check_key_text(b"short")


def test_codes_never_show_their_key() -> None:
    r = parse_receipt(_receipt(), KEY)
    assert KEY.hex() not in repr(r) and "receipt_key" not in repr(r)
    assert dataclasses.is_dataclass(r)
