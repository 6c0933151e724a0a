"""The system trust store is parsed once while its files are unchanged, and again when they change."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from certmgr.shared.tlstrust import load_system_roots, verify_chain
from tests.factories.pki import make_ca, make_leaf, pem_bytes


def _roots(n: int) -> list[x509.Certificate]:
    return [make_ca(f"Store Root {i}")[1] for i in range(n)]


def _cns(roots: tuple[x509.Certificate, ...]) -> list[str]:
    return [str(r.subject.rfc4514_string()) for r in roots]


def test_a_bundle_is_parsed_once_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle.pem"
    two, three = _roots(2), _roots(3)
    bundle.write_bytes(pem_bytes(*two))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))

    first = load_system_roots()
    assert _cns(first) == _cns(tuple(two))
    assert load_system_roots() is first  # unchanged: the same parsed tuple, no parse

    bundle.write_bytes(pem_bytes(*three))  # edited in place: new size
    after_edit = load_system_roots()
    assert _cns(after_edit) == _cns(tuple(three))

    stat = bundle.stat()
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # same size, touched
    touched = load_system_roots()
    assert touched is not after_edit
    assert _cns(touched) == _cns(tuple(three))

    replacement = tmp_path / "new.pem"
    replacement.write_bytes(pem_bytes(*two))
    replacement.replace(bundle)  # replaced by rename (how package managers update it)
    assert _cns(load_system_roots()) == _cns(tuple(two))


def test_a_directory_store_sees_files_added_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setattr(
        ssl,
        "get_default_verify_paths",
        lambda: ssl.DefaultVerifyPaths(
            "/nonexistent", str(tmp_path), "SSL_CERT_FILE", "/nonexistent", "SSL_CERT_DIR", "/none"
        ),
    )
    a, b = _roots(2)
    (tmp_path / "a.pem").write_bytes(pem_bytes(a))
    first = load_system_roots()
    assert _cns(first) == _cns((a,))
    assert load_system_roots() is first

    (tmp_path / "b.pem").write_bytes(pem_bytes(b, a))  # a duplicate anchor counts once
    assert sorted(_cns(load_system_roots())) == sorted(_cns((a, b)))

    (tmp_path / "a.pem").unlink()
    (tmp_path / "b.pem").write_bytes(pem_bytes(b))
    assert _cns(load_system_roots()) == _cns((b,))


def test_a_chain_is_judged_against_the_store_as_it_is_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_key, ca = make_ca("Trusted Later")
    _, leaf = make_leaf(ca_key, ca, "svc.example.test", sans=("svc.example.test",))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem_bytes(*_roots(1)))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))

    trusted, _ = verify_chain([leaf], None, "svc.example.test")
    assert trusted is False

    bundle.write_bytes(pem_bytes(*_roots(1), ca))  # the admin adds the CA to the store
    trusted, reason = verify_chain([leaf], None, "svc.example.test")
    assert trusted is True, reason
