"""The deploy-check verdict on hand-made probe results (no network)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence

import pytest
from cryptography import x509

from certmgr.shared.deploycheck import CheckOutcome, evaluate
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki.fingerprint import colon_hex, sha256_fingerprint
from certmgr.shared.tlsprobe import ProbeResult
from tests.factories.pki import TestPki, make_ca, make_intermediate, make_leaf, make_pki

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


def served(
    *chain: x509.Certificate, sni: str | None = "localhost", matches: bool = True
) -> ProbeResult:
    return ProbeResult(
        host="127.0.0.1",
        port=443,
        sni=sni,
        address="127.0.0.1",
        reachable=True,
        chain=tuple(chain),
        protocol="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        hostname_matches=matches,
    )


def check(
    pki: TestPki, result: ProbeResult, expected_chain: Sequence[x509.Certificate] = ()
) -> CheckOutcome:
    return evaluate(result, sha256_fingerprint(pki.leaf_a), expected_chain, now=NOW)


def test_right_certificate_and_chain(pki: TestPki) -> None:
    out = check(pki, served(pki.leaf_a, pki.intermediate), [pki.intermediate, pki.root])
    assert out.ok and out.problems == []
    assert out.matches_current and out.chain_complete and out.chain_in_order
    assert out.served_sha256 == sha256_fingerprint(pki.leaf_a)
    assert out.missing_intermediates == [] and out.extra_certs == []
    assert out.days_left in (29, 30) and out.protocol == "TLSv1.3"


def test_colon_fingerprint_and_included_root_are_fine(pki: TestPki) -> None:
    out = evaluate(
        served(pki.leaf_a, pki.intermediate, pki.root),
        colon_hex(sha256_fingerprint(pki.leaf_a)),
        now=NOW,
    )
    assert out.ok, out.problems


def test_other_certificate(pki: TestPki) -> None:
    out = check(pki, served(pki.leaf_b, pki.intermediate))
    assert not out.ok and not out.matches_current and out.chain_complete
    assert out.problems[0].startswith("served certificate is not the current one (served SHA-256 ")
    assert sha256_fingerprint(pki.leaf_a)[:12] in out.problems[0]


def test_missing_intermediate_named_from_repository_chain(pki: TestPki) -> None:
    out = check(pki, served(pki.leaf_a), [pki.intermediate, pki.root])
    assert not out.ok and not out.chain_complete and out.chain_in_order
    assert out.missing_intermediates == ["CN=Test Intermediate"]
    assert "intermediate CN=Test Intermediate is not served" in out.problems


def test_missing_intermediate_without_repository_chain(pki: TestPki) -> None:
    out = check(pki, served(pki.leaf_a))
    assert out.missing_intermediates == ["CN=Test Intermediate"] and not out.chain_complete


def test_two_level_intermediates(pki: TestPki) -> None:
    k2, int2 = make_intermediate(pki.int_key, pki.intermediate, "Second Intermediate")
    _, leaf = make_leaf(k2, int2, "deep", ["localhost"])
    result = served(leaf, int2)
    out = evaluate(result, sha256_fingerprint(leaf), [int2, pki.intermediate, pki.root], now=NOW)
    assert out.missing_intermediates == ["CN=Test Intermediate"]
    # without the repository chain the probe cannot know Second Intermediate is not issued by a root
    assert evaluate(result, sha256_fingerprint(leaf), now=NOW).chain_complete


def test_out_of_order_and_unrelated(pki: TestPki) -> None:
    out = check(pki, served(pki.leaf_a, pki.root, pki.intermediate))
    assert not out.chain_in_order and out.chain_complete and not out.ok
    assert any(p.startswith("chain is out of order") for p in out.problems)
    stranger = make_ca("Stranger CA")[1]
    out = check(pki, served(pki.leaf_a, pki.intermediate, stranger))
    assert not out.chain_in_order and out.extra_certs == ["CN=Stranger CA"] and out.chain_complete
    out = check(pki, served(pki.leaf_a, pki.intermediate, pki.intermediate))
    assert not out.chain_in_order and any("more than once" in p for p in out.problems)


def test_expired_and_name(pki: TestPki) -> None:
    past = NOW - dt.timedelta(days=40)
    _, old = make_leaf(
        pki.int_key,
        pki.intermediate,
        "old",
        ["localhost"],
        not_before=past,
        not_after=past + dt.timedelta(days=10),
    )
    out = evaluate(served(old, pki.intermediate, matches=False), sha256_fingerprint(old), now=NOW)
    assert out.days_left is not None and out.days_left < 0 and not out.ok
    assert any("expired" in p for p in out.problems)
    assert any("does not cover the name localhost" in w for w in out.warnings)
    # a bare-IP probe (no SNI) is not held to a name
    assert check(pki, served(pki.leaf_a, pki.intermediate, sni=None, matches=False)).ok


def test_unreachable_and_failed_handshake() -> None:
    refused = ProbeResult(
        "127.0.0.1",
        1,
        None,
        "127.0.0.1",
        False,
        error="connection refused by 127.0.0.1:1",
        error_kind="refused",
    )
    out = evaluate(refused, "ab" * 32, now=NOW)
    assert not out.ok and not out.reachable and out.served_sha256 is None and out.days_left is None
    assert (
        out.problems == ["host unreachable: connection refused by 127.0.0.1:1"]
        and out.error_kind == "refused"
    )
    broken = dataclasses.replace(
        refused, reachable=True, error="the TLS handshake failed: x", error_kind="handshake"
    )
    out = evaluate(broken, "ab" * 32, now=NOW)
    assert out.reachable and out.problems[0].startswith("the server was reached but TLS failed")


def test_arguments_are_checked(pki: TestPki) -> None:
    with pytest.raises(ValidationError):
        evaluate(served(pki.leaf_a), "abcd", now=NOW)
    with pytest.raises(ValidationError):
        evaluate(served(pki.leaf_a), "ab" * 32, now=dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_dict_round_trip(pki: TestPki) -> None:
    out = check(pki, served(pki.leaf_a, pki.root, pki.intermediate), [pki.intermediate])
    data = json.loads(json.dumps(out.to_dict()))
    assert CheckOutcome.from_dict(data) == out
    old_record = {
        k: v for k, v in data.items() if k not in ("verified", "verify_error", "error_kind")
    }
    assert CheckOutcome.from_dict({**old_record, "future_field": 1}).problems == out.problems
    with pytest.raises(ValidationError):
        CheckOutcome.from_dict({**data, "days_left": "7"})
    with pytest.raises(ValidationError):
        CheckOutcome.from_dict({**data, "problems": "x"})
    with pytest.raises(ValidationError):
        CheckOutcome.from_dict({k: v for k, v in data.items() if k != "ok"})


def test_repeated_chains_give_the_same_verdict_and_fresh_lists(pki: TestPki) -> None:
    """The chain analysis is remembered per (served, expected) pair: answers must not be shared."""
    first = check(pki, served(pki.leaf_a), [pki.intermediate, pki.root])
    first.missing_intermediates.append("changed by a caller")
    first.problems.clear()
    again = check(pki, served(pki.leaf_a), [pki.intermediate, pki.root])
    assert not again.chain_complete
    assert again.missing_intermediates == [pki.intermediate.subject.rfc4514_string()]
    assert again.problems and "is not served" in again.problems[0]
    # and a different served chain is judged afresh
    assert check(pki, served(pki.leaf_a, pki.intermediate), [pki.intermediate]).ok


def test_leaf_issued_by_a_root_anchor_is_complete(pki: TestPki) -> None:
    # a private CA issues straight from its root: the root is never expected to be served
    _, leaf = make_leaf(pki.root_key, pki.root, "direct", ["localhost"])
    fp = sha256_fingerprint(leaf)
    out = evaluate(served(leaf), fp, [pki.root], now=NOW)
    assert out.ok and out.chain_complete and out.missing_intermediates == [], out.problems
    alone = evaluate(served(leaf), fp, now=NOW)  # nothing known of the issuer: cannot be sure
    assert not alone.chain_complete
    out = evaluate(served(leaf), fp, now=NOW, anchors=[pki.root])  # certmgr check --ca-file
    assert out.ok and out.chain_complete, out.problems
    # an intermediate anchor does not excuse the server from sending it
    out = evaluate(served(pki.leaf_a), sha256_fingerprint(pki.leaf_a), now=NOW, anchors=[pki.root])
    assert not out.ok and out.missing_intermediates == ["CN=Test Intermediate"]


def test_name_not_covered_is_a_warning_when_the_fingerprint_matches(pki: TestPki) -> None:
    out = check(pki, served(pki.leaf_a, pki.intermediate, sni="other.test", matches=False))
    assert out.ok and out.problems == []
    assert out.warnings == ["the served certificate does not cover the name other.test"]
    assert CheckOutcome.from_dict(json.loads(json.dumps(out.to_dict()))) == out


def test_fingerprint_only(pki: TestPki) -> None:
    result = served(pki.leaf_a, sni="other.test", matches=False)  # no intermediate, other name
    out = evaluate(result, sha256_fingerprint(pki.leaf_a), now=NOW, fingerprint_only=True)
    assert out.ok and not out.chain_complete and len(out.warnings) == 2, out.warnings
    wrong = evaluate(result, sha256_fingerprint(pki.leaf_b), now=NOW, fingerprint_only=True)
    assert not wrong.ok and not wrong.matches_current


def test_outcome_stored_before_warnings_still_reads(pki: TestPki) -> None:
    stored = check(pki, served(pki.leaf_a, pki.intermediate)).to_dict()
    del stored["warnings"]
    assert CheckOutcome.from_dict(stored).warnings == []
