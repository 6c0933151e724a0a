"""The probe parses each distinct certificate once: same DER, same object; the cache is bounded."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from certmgr.shared import _tlswire
from tests.factories.pki import make_leaf, make_pki


def test_same_der_same_object_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    pki = make_pki()
    der = pki.leaf_a.public_bytes(Encoding.DER)
    monkeypatch.setattr(_tlswire, "_PARSED", {})
    first = _tlswire._parsed(der)
    assert first == pki.leaf_a and _tlswire._parsed(bytes(der)) is first
    with pytest.raises(ValueError):
        _tlswire._parsed(b"\x30\x03garbage")
    # a certificate larger than the per-entry bound is parsed each time, never kept
    _, big = make_leaf(
        pki.int_key, pki.intermediate, "big.test", [f"n{i}.big.test" for i in range(600)]
    )
    big_der = big.public_bytes(Encoding.DER)
    assert len(big_der) > _tlswire._PARSED_BYTES
    assert _tlswire._parsed(big_der) == big and big_der not in _tlswire._PARSED
    # at most _PARSED_MAX entries: the oldest goes first
    monkeypatch.setattr(_tlswire, "_PARSED_MAX", 2)
    others = [
        make_leaf(pki.int_key, pki.intermediate, f"h{i}.test", [f"h{i}.test"])[1] for i in range(2)
    ]
    for cert in others:
        _tlswire._parsed(cert.public_bytes(Encoding.DER))
    assert list(_tlswire._PARSED) == [c.public_bytes(Encoding.DER) for c in others]
