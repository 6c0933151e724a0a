"""The verdict's shortcuts give the answers of the long way, for equal certificates parsed apart too."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certmgr.shared import _tlswire, deploycheck
from certmgr.shared.pki.fingerprint import normalize_fingerprint
from tests.factories.pki import make_pki


def _slow_normalize(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch in "0123456789abcdef")


def test_normalize_fingerprint_fast_path_changes_nothing() -> None:
    plain = "0123456789abcdef" * 4
    for value in (
        plain,
        plain.upper(),
        ":".join(plain[i : i + 2] for i in range(0, 64, 2)),
        f" {plain} ",
        plain[:63],
        plain + "0",
        plain[:63] + "g",
        plain + "\n",
        "",
    ):
        assert normalize_fingerprint(value) == _slow_normalize(value), value


def _again(cert: x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.public_bytes(Encoding.DER))


def test_chain_findings_of_equal_certificates_are_remembered_and_unchanged() -> None:
    pki = make_pki()
    deploycheck._chain_findings_of.cache_clear()
    cases = [
        ([pki.leaf_a, pki.intermediate], [pki.intermediate, pki.root]),
        ([pki.leaf_a], [pki.intermediate, pki.root]),
        ([pki.intermediate, pki.leaf_a], [pki.intermediate]),
        ([pki.leaf_b, pki.root, pki.intermediate], []),
    ]
    for served, expected in cases:
        want = deploycheck._analyse_chain(served, expected, ())
        first = deploycheck._chain_findings(served, expected, ())
        # other objects of the same certificates: the same answer, from the cache
        hits = deploycheck._chain_findings_of.cache_info().hits
        second = deploycheck._chain_findings(
            [_again(c) for c in served], [_again(c) for c in expected], ()
        )
        assert first == second == want
        assert deploycheck._chain_findings_of.cache_info().hits == hits + 1
    assert deploycheck._chain_findings_of.cache_info().currsize == len(cases)


def test_check_sni_answers_stay_right_when_asked_again() -> None:
    _tlswire.check_sni.cache_clear()
    for _ in range(2):
        assert _tlswire.check_sni(None) is True
        assert _tlswire.check_sni("www.example.test") is True
        assert _tlswire.check_sni("bücher.example") is True
        assert _tlswire.check_sni("a" * 300) is False
        assert _tlswire.check_sni("a\x00b.example") is False  # was a TypeError
    assert _tlswire.check_sni.cache_info().hits == 5
