"""The agent protocol: strict messages, enrolment tokens, request signatures."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import nacl.signing
import pytest

from certmgr.shared import protocol as p
from certmgr.shared.envelope import AlreadyInstalledPackageError, MalformedPackageError
from certmgr.shared.errors import (
    BadSignatureError,
    InputError,
    InputTooLargeError,
    PathNotAllowedError,
    PermissionDeniedError,
    StalePackageError,
    ValidationError,
    ValidationFailedError,
)
from certmgr.shared.secret import Secret

NOW = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
SHA = "ab" * 32
TARGET = p.TargetReport(
    name="web",
    type="files",
    availability="ready",
    installed=(p.InstalledItem(path="/etc/x/cert.pem", sha256=SHA, not_after=NOW),),
)
MESSAGES: list[Any] = [
    TARGET,
    p.InventoryUpload(agent_version="0.1.0", targets=(TARGET,)),
    p.EnrollRequest(
        token_secret=Secret("s" * 24),
        agent_name="web01",
        hostname="web01.example.net",
        agent_version="0.1.0",
        x25519_public_key=bytes(32),
        ed25519_public_key=bytes(range(32)),
        targets=(TARGET,),
    ),
    p.EnrollResponse(agent_id="17", controller_verify_key=bytes(32), poll_wait_seconds=25),
    p.WorkResponse(
        packages=(p.WorkPackage(deployment_id=3, sequence=9, blob=b"CMPK..."),),
        keygen=(
            p.KeygenRequest(
                request_id="r-1", key_type="rsa-3072", common_name="a.test", sans=("a.test",)
            ),
        ),
        revoked=False,
    ),
    p.Report(deployment_id=3, sequence=9, ok=True, target="web", installed_sha256=SHA),
    p.Report(
        deployment_id=3,
        sequence=9,
        ok=False,
        error_kind="stale-package",
        error="older than installed",
        messages=("line one", "line two"),
        inventory=(TARGET,),
    ),
    p.CsrUpload(request_id="r-1", csr_pem="", error_kind="invalid-input", error="bad country"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_messages_round_trip_through_json(message: Any) -> None:
    data = p.encode(message)
    assert type(message).from_json(json.loads(data)) == message
    assert p.decode(type(message), data, max_size=p.MAX_WORK_RESPONSE_SIZE) == message


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_unknown_and_missing_fields_are_refused_by_name(message: Any) -> None:
    doc = message.to_json()
    with pytest.raises(ValidationError) as err:
        type(message).from_json({**doc, "surprise": 1})
    assert err.value.field == "surprise"
    first = next(iter(doc))
    with pytest.raises(ValidationError) as err:
        type(message).from_json({k: v for k, v in doc.items() if k != first})
    assert err.value.field == first


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"packages": [{"deployment_id": "1", "sequence": 1, "blob": "eA=="}]}, "packages[0].deployment_id"),
        ({"packages": [{"deployment_id": True, "sequence": 1, "blob": "eA=="}]}, "packages[0].deployment_id"),
        ({"packages": [{"deployment_id": 1, "sequence": -1, "blob": "eA=="}]}, "packages[0].sequence"),
        ({"packages": [{"deployment_id": 1, "sequence": 1, "blob": "not base64!"}]}, "packages[0].blob"),
        ({"packages": [{"deployment_id": 1, "sequence": 1, "blob": ""}]}, "packages[0].blob"),
        ({"packages": {"a": 1}}, "packages"),
        ({"packages": [{}] * 17}, "packages"),
        ({"keygen": [{"request_id": "r", "key_type": "dsa-1024"}]}, "keygen[0].key_type"),
        ({"keygen": [{"request_id": "../x", "key_type": "ec-p256"}]}, "keygen[0].request_id"),
        ({"keygen": [{"request_id": "r", "key_type": "ec-p256", "sans": ["a b"]}]}, "keygen[0].sans[0]"),
        ({"keygen": [{"request_id": "r", "key_type": "ec-p256", "sans": ["a"] * 101}]}, "keygen[0].sans"),
        ({"revoked": "no"}, "revoked"),
    ],
)  # fmt: skip
def test_wrong_types_sizes_and_forms_name_the_field(doc: dict[str, Any], field: str) -> None:
    full = {"packages": [], "keygen": [], "revoked": False, **doc}
    with pytest.raises(ValidationError) as err:
        p.WorkResponse.from_json(full)
    assert err.value.field == field
    assert isinstance(err.value, InputError)


def test_strings_are_capped_and_values_never_echoed() -> None:
    doc = MESSAGES[5].to_json()
    with pytest.raises(ValidationError) as err:
        p.Report.from_json({**doc, "messages": ["x" * 1001]})
    assert err.value.field == "messages[0]"
    secret = "s3cr3t-" * 10
    with pytest.raises(ValidationError) as err:
        p.Report.from_json({**doc, "installed_sha256": secret})
    assert secret not in str(err.value)


def test_report_and_csr_consistency_rules() -> None:
    ok = MESSAGES[5].to_json()
    with pytest.raises(ValidationError, match="no error"):
        p.Report.from_json({**ok, "error_kind": "bad-signature"})
    with pytest.raises(ValidationError, match="needs error_kind"):
        p.Report.from_json({**ok, "ok": False})
    with pytest.raises(ValidationError):
        p.Report.from_json({**ok, "ok": False, "error_kind": "made-up"})
    with pytest.raises(ValidationError):
        p.CsrUpload.from_json(
            {
                "request_id": "r",
                "csr_pem": "",
                "public_key_sha256": "",
                "error_kind": None,
                "error": "",
            }
        )


def test_bodies_are_capped_and_must_be_clean_json() -> None:
    with pytest.raises(InputTooLargeError):
        p.decode(p.WorkResponse, b" " * (p.MAX_MESSAGE_SIZE + 1))
    for bad in (b"{", b'{"revoked": NaN}', b'{"a": 1, "a": 2}', b"\xff"):
        with pytest.raises(ValidationError):
            p.decode(p.WorkResponse, bad)
    with pytest.raises(ValidationError, match="JSON object"):
        p.decode(p.WorkResponse, b"[]")


def test_secrets_stay_out_of_reprs() -> None:
    request = MESSAGES[2]
    assert "sss" not in repr(request)
    assert "CMPK" not in repr(MESSAGES[4])
    token = p.parse_token(_token())
    assert token.secret.reveal() not in repr(token)


# --- tokens ----------------------------------------------------------------------------------
def _token(url: str = "https://ctl.example.net:23466", **kw: Any) -> str:
    return p.format_token(
        p.EnrollmentToken(
            controller_url=url,
            ca_sha256=kw.get("fp", SHA),
            secret=Secret(kw.get("secret", "A" * 32)),
            expires_at=NOW,
        )
    )


def test_token_round_trip_and_format() -> None:
    text = _token()
    assert text.startswith("cmenroll1.") and "=" not in text
    body = json.loads(base64.urlsafe_b64decode(text[10:] + "=="))
    assert set(body) == {"u", "fp", "s", "exp"} and body["exp"] == int(NOW.timestamp())
    token = p.parse_token(f"  {text}\n")
    assert token.controller_url == "https://ctl.example.net:23466"
    assert token.ca_sha256 == SHA and token.expires_at == NOW
    assert token.expired(NOW) and not token.expired(NOW - dt.timedelta(seconds=1))
    assert p.parse_token(_token(url="")).controller_url == ""


@pytest.mark.parametrize(
    "text",
    [
        "cmenroll2.abc",
        "cmenroll1.",
        "cmenroll1.!!!",
        "cmenroll1." + base64.urlsafe_b64encode(b'{"u":"","fp":"x","s":"y","exp":1}').decode(),
        "cmenroll1." + base64.urlsafe_b64encode(b"[1]").decode(),
    ],
)
def test_damaged_tokens_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        p.parse_token(text)


@pytest.mark.parametrize(
    "url", ["http://ctl:1", "https://user@ctl", "https://ctl/path", "https://ctl?x=1", "https://"]
)
def test_token_url_must_be_an_https_origin(url: str) -> None:
    with pytest.raises(ValidationError):
        _token(url=url)


# --- signing ---------------------------------------------------------------------------------
KEY = nacl.signing.SigningKey(bytes(range(32)))
BODY = b'{"deployment_id":1}'
NONCE = "n" * 22


def _signed(**kw: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "signing_key": KEY,
        "agent_id": "17",
        "method": "POST",
        "path_with_query": p.PATH_REPORT,
        "body": BODY,
        "now": NOW,
        "nonce": NONCE,
    }
    args.update(kw)
    return p.sign_request(**args)


def _verify(headers: dict[str, str], **kw: Any) -> tuple[str, str]:
    args: dict[str, Any] = {"method": "POST", "path": p.PATH_REPORT, "body": BODY, "now": NOW}
    args.update(kw)
    return p.verify_request(KEY.verify_key, headers, **args)


def test_signed_request_verifies_and_names_agent_and_nonce() -> None:
    headers = _signed()
    assert set(headers) == {
        "X-Certmgr-Agent",
        "X-Certmgr-Timestamp",
        "X-Certmgr-Nonce",
        "X-Certmgr-Signature",
    }
    assert headers["X-Certmgr-Timestamp"] == str(int(NOW.timestamp()))
    assert _verify(headers) == ("17", NONCE)
    assert _verify({k.lower(): v for k, v in headers.items()}) == ("17", NONCE)
    assert p.agent_id_of(headers) == "17"
    message = p.signing_string("POST", p.PATH_REPORT, int(NOW.timestamp()), NONCE, BODY)
    assert message.decode().split("\n")[:4] == [
        "POST",
        p.PATH_REPORT,
        str(int(NOW.timestamp())),
        NONCE,
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"body": BODY + b" "},
        {"path": p.PATH_INVENTORY},
        {"path": p.work_path(25)},
        {"method": "PUT"},
        {"now": NOW + dt.timedelta(seconds=301)},
        {"now": NOW - dt.timedelta(seconds=301)},
    ],
    ids=["tampered-body", "other-path", "other-query", "other-method", "skew-ahead", "skew-behind"],
)
def test_any_change_or_clock_skew_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(PermissionDeniedError):
        _verify(_signed(), **change)


def test_skew_inside_the_window_is_accepted() -> None:
    assert _verify(_signed(), now=NOW + dt.timedelta(seconds=299))[0] == "17"
    with pytest.raises(PermissionDeniedError, match="away from"):
        _verify(_signed(), now=NOW + dt.timedelta(seconds=61), max_skew=60)


@pytest.mark.parametrize(
    "edit",
    [
        lambda h: h.pop("X-Certmgr-Signature"),
        lambda h: h.update({"X-Certmgr-Signature": base64.b64encode(bytes(64)).decode()}),
        lambda h: h.update({"X-Certmgr-Signature": "x"}),
        lambda h: h.update({"X-Certmgr-Agent": "../x"}),
        lambda h: h.update({"X-Certmgr-Nonce": "short"}),
        lambda h: h.update({"X-Certmgr-Nonce": "m" * 22}),
        lambda h: h.update({"X-Certmgr-Timestamp": "12.5"}),
        lambda h: h.update({"x-certmgr-nonce": NONCE}),
    ],
    ids=["missing", "zero-signature", "garbage", "bad-agent", "short-nonce",
         "other-nonce", "bad-timestamp", "repeated-header"],
)  # fmt: skip
def test_bad_or_missing_headers_are_refused(edit: Any) -> None:
    headers = _signed()
    edit(headers)
    with pytest.raises(PermissionDeniedError):
        _verify(headers)


def test_signature_from_another_key_is_refused() -> None:
    other = nacl.signing.SigningKey.generate()
    with pytest.raises(PermissionDeniedError, match="signature is invalid"):
        _verify(_signed(signing_key=other))
    # Claiming another agent's id: the controller checks with that agent's key, which fails.
    headers = {**_signed(), "X-Certmgr-Agent": "18"}
    assert p.agent_id_of(headers) == "18"
    with pytest.raises(PermissionDeniedError):
        p.verify_request(other.verify_key, headers, "POST", p.PATH_REPORT, BODY, NOW)


def test_a_replay_verifies_again_so_the_nonce_is_returned_for_the_caller_to_store() -> None:
    headers = _signed()
    seen: set[tuple[str, str]] = set()
    for attempt in range(2):
        pair = _verify(headers)
        if attempt == 1:
            assert pair in seen  # the controller refuses it here
        seen.add(pair)


def test_sign_request_refuses_malformed_input() -> None:
    with pytest.raises(ValidationError):
        _signed(nonce="bad nonce")
    with pytest.raises(ValidationError):
        _signed(now=NOW.replace(tzinfo=None))
    with pytest.raises(ValidationError):
        _signed(method="post")
    with pytest.raises(ValidationError):
        _signed(path_with_query="api")
    assert len(p.new_nonce()) == 22 and p.new_nonce() != p.new_nonce()


def test_work_path_and_error_kinds() -> None:
    assert p.work_path(0) == "/api/agent/v1/work?wait=0"
    with pytest.raises(ValidationError):
        p.work_path(301)
    assert p.error_kind_for(BadSignatureError("x")) == "bad-signature"
    assert p.error_kind_for(AlreadyInstalledPackageError(3, 3)) == "already-installed"
    assert p.error_kind_for(StalePackageError(2, 3)) == "stale-package"
    assert p.error_kind_for(MalformedPackageError("x")) == "malformed-package"
    assert p.error_kind_for(PathNotAllowedError("/x")) == "path-not-allowed"
    assert p.error_kind_for(ValidationFailedError("x")) == "validation-failed"
    assert p.error_kind_for(p.ParamNotAllowedError("reload_cmd")) == "param-not-allowed"
    assert p.error_kind_for(ValueError("x")) == "internal-error"


def test_exported_names_exist() -> None:
    assert sorted(p.__all__) == sorted(set(p.__all__))
    for name in p.__all__:
        assert hasattr(p, name), name
