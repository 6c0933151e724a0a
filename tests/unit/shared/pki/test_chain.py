"""Chain building, leaf finding and served-order checks."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certmgr.shared.pki import (
    build_chain,
    check_order,
    find_leaves,
    is_ca,
    is_self_signed,
    issued_by,
    load,
    sha256_fingerprint,
)
from tests.factories.openssl_files import PkiFiles
from tests.factories.pki_builders import ec_key, make_cert, name


@pytest.fixture(scope="module")
def real(pki_files: PkiFiles) -> dict[str, x509.Certificate]:
    return {
        n: load(pki_files.read(f"{n}.pem")).certificates[0]
        for n in ("root", "int", "leaf-ec", "leaf-rsa")
    }


def fps(certs: tuple[x509.Certificate, ...] | list[x509.Certificate]) -> list[str]:
    return [sha256_fingerprint(c) for c in certs]


def test_predicates(real: dict[str, x509.Certificate]) -> None:
    assert is_ca(real["root"]) and is_self_signed(real["root"])
    assert is_ca(real["int"]) and not is_self_signed(real["int"])
    assert not is_ca(real["leaf-ec"]) and not is_self_signed(real["leaf-ec"])
    assert issued_by(real["leaf-ec"], real["int"])
    assert not issued_by(real["leaf-ec"], real["root"])


def test_build_from_shuffled_file(pki_files: PkiFiles, real: dict[str, x509.Certificate]) -> None:
    certs = load(pki_files.read("fullchain-shuffled.pem")).certificates
    result = build_chain(real["leaf-ec"], certs)
    assert result.complete and result.missing_issuer is None
    assert fps(result.chain) == [pki_files.fingerprints["int"], pki_files.fingerprints["root"]]


def test_missing_intermediate(real: dict[str, x509.Certificate]) -> None:
    result = build_chain(real["leaf-ec"], [real["root"], real["leaf-rsa"]])
    assert not result.complete
    assert result.chain == ()
    assert result.missing_issuer == "CN=certmgr Test Intermediate CA,O=certmgr tests"


def test_trusted_anchor_completes(real: dict[str, x509.Certificate]) -> None:
    assert build_chain(real["leaf-ec"], [real["int"]], trusted=[real["root"]]).complete
    partial = build_chain(real["leaf-ec"], [], trusted=[real["int"]])
    assert partial.complete and partial.chain == (real["int"],)
    assert not build_chain(real["leaf-ec"], [real["int"]]).complete


def test_self_signed_leaf() -> None:
    key = ec_key()
    cert = make_cert("host.example", key, ca=True)  # openssl req -x509 marks these CA:TRUE
    result = build_chain(cert, [])
    assert result.complete and result.chain == ()
    assert find_leaves([cert]) == [cert]


def test_find_leaves(pki_files: PkiFiles, real: dict[str, x509.Certificate]) -> None:
    shuffled = load(pki_files.read("fullchain-shuffled.pem")).certificates
    assert find_leaves(shuffled) == [real["leaf-ec"]]
    both = [real["root"], real["leaf-rsa"], real["int"], real["leaf-ec"]]
    assert find_leaves(both) == [real["leaf-rsa"], real["leaf-ec"]]
    assert find_leaves([real["root"]]) == [real["root"]]
    assert find_leaves([real["int"], real["root"]]) == [real["int"]]


def test_impostor_issuer_is_not_used(real: dict[str, x509.Certificate]) -> None:
    """Same subject as the intermediate, different key: names match but the signature does not."""
    impostor_key = ec_key()
    impostor = make_cert("x", impostor_key, ca=True, key_ids=False)
    fake_int = x509.CertificateBuilder(
        issuer_name=real["root"].subject,
        subject_name=real["int"].subject,
        public_key=impostor_key.public_key(),
        serial_number=7,
        not_valid_before=impostor.not_valid_before_utc,
        not_valid_after=impostor.not_valid_after_utc,
    ).sign(impostor_key, hashes.SHA256())
    assert _names_only_match(real["leaf-ec"], fake_int)
    result = build_chain(real["leaf-ec"], [fake_int])
    assert not result.complete and result.chain == ()


def _names_only_match(child: x509.Certificate, parent: x509.Certificate) -> bool:
    return child.issuer == parent.subject and not issued_by(child, parent)


def test_loops_and_depth_cap() -> None:
    ka, kb = ec_key(), ec_key()
    # A and B cross-certify each other: the walk must stop, not spin.
    a = make_cert("A", ka, issuer_name=name("B"), issuer_key=kb, ca=True)
    b = make_cert("B", kb, issuer_name=name("A"), issuer_key=ka, ca=True)
    leaf = make_cert("leaf", ec_key(), issuer=a, issuer_key=ka)
    result = build_chain(leaf, [a, b, a])
    assert not result.complete
    assert result.chain == (a, b)
    assert result.missing_issuer == "CN=A"  # B's issuer, already on the chain
    # A long ladder of intermediates stops at the cap.
    keys = [ec_key() for _ in range(15)]
    top = make_cert("ca-0", keys[0], ca=True)
    ladder = [top]
    for i in range(1, 15):
        ladder.append(
            make_cert(f"ca-{i}", keys[i], issuer=ladder[-1], issuer_key=keys[i - 1], ca=True)
        )
    leaf = make_cert("deep", ec_key(), issuer=ladder[-1], issuer_key=keys[-1])
    deep = build_chain(leaf, ladder)
    assert len(deep.chain) == 10 and not deep.complete
    assert build_chain(leaf, ladder, max_depth=20).complete


def test_renewed_intermediate_prefers_longer_validity() -> None:
    root_key, int_key = ec_key(), ec_key()
    root = make_cert("root", root_key, ca=True, days=3650)
    old = make_cert("int", int_key, issuer=root, issuer_key=root_key, ca=True, days=100, serial=1)
    new = make_cert("int", int_key, issuer=root, issuer_key=root_key, ca=True, days=900, serial=2)
    leaf = make_cert("leaf", ec_key(), issuer=old, issuer_key=int_key)
    assert build_chain(leaf, [old, root, new]).chain == (new, root)


def test_aki_mismatch_is_not_an_issuer() -> None:
    key = ec_key()
    ca = make_cert("ca", key, ca=True)
    child = make_cert("child", ec_key(), issuer=ca, issuer_key=key)
    assert issued_by(child, ca)
    # Same name as the CA, but another key (so another SKI): rejected before the signature check.
    twin = make_cert("ca", ec_key(), ca=True)
    assert not issued_by(child, twin)


def test_check_order_good(real: dict[str, x509.Certificate]) -> None:
    report = check_order([real["leaf-ec"], real["int"]])
    assert report.ok and report.in_order and report.complete
    assert report.expected == (real["leaf-ec"], real["int"])
    with_root = check_order([real["leaf-ec"], real["int"], real["root"]])
    assert with_root.ok and with_root.root_included
    assert with_root.expected == (real["leaf-ec"], real["int"])


def test_check_order_problems(real: dict[str, x509.Certificate]) -> None:
    reversed_ = check_order([real["int"], real["leaf-ec"]])
    assert not reversed_.ok and not reversed_.in_order
    assert reversed_.leaf == real["leaf-ec"]
    assert "not sent first" in reversed_.problems[0]

    skipped = check_order([real["leaf-ec"], real["root"], real["int"]])
    assert not skipped.in_order
    assert any("not in order" in p for p in skipped.problems)

    alone = check_order([real["leaf-ec"]])
    assert not alone.ok and not alone.complete
    assert alone.missing_issuer == "CN=certmgr Test Intermediate CA,O=certmgr tests"

    extra = check_order([real["leaf-ec"], real["int"], real["leaf-rsa"], real["int"]])
    assert extra.unrelated == (real["leaf-rsa"],)
    assert extra.duplicates == 1
    assert extra.in_order
    assert len(extra.problems) == 2

    assert not check_order([]).ok


def test_check_order_with_trust_anchors(real: dict[str, x509.Certificate]) -> None:
    assert check_order([real["leaf-ec"], real["int"]], trusted=[real["root"]]).ok
    # A private CA without intermediate: the leaf alone is right when its root is trusted.
    key = ec_key()
    root = make_cert("private root", key, ca=True)
    leaf = make_cert("svc", ec_key(), issuer=root, issuer_key=key)
    assert check_order([leaf], trusted=[root]).ok
    assert not check_order([leaf]).ok
    other_root = make_cert("other root", ec_key(), ca=True)
    assert not check_order([leaf], trusted=[other_root]).ok


def test_issued_by_many_checks_a_large_batch_on_several_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch gives issued_by's verdict for every pair, a forgery included, off the caller's thread."""
    import threading

    from certmgr.shared.pki import chain as chain_module

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    key = ec_key()
    ca = make_cert("ca", key, ca=True)
    other_key = ec_key()
    pairs = [(make_cert(f"h{i}", ec_key(), issuer=ca, issuer_key=key), ca) for i in range(300)]
    # names and (absent) key ids point at the CA, but another key signed it
    forged = make_cert(
        "forged", ec_key(), issuer_name=ca.subject, issuer_key=other_key, key_ids=False
    )
    stranger = make_cert(
        "stranger", ec_key(), issuer=make_cert("x", other_key, ca=True), issuer_key=other_key
    )
    pairs[17] = (forged, ca)
    pairs[250] = (stranger, ca)
    expected = [issued_by(c, p) for c, p in pairs]
    threads: set[str] = set()
    check = chain_module._check_signature

    def recording(child: x509.Certificate, parent: x509.Certificate) -> bool:
        threads.add(threading.current_thread().name)
        return check(child, parent)

    monkeypatch.setattr(chain_module, "_check_signature", recording)
    verdicts = chain_module.issued_by_many(pairs)
    assert verdicts == expected
    assert verdicts.count(False) == 2 and not verdicts[17] and not verdicts[250]
    assert threads and all(t.startswith("certmgr-verify") for t in threads)
    # a small batch stays on the calling thread, through the cache
    threads.clear()
    assert chain_module.issued_by_many(pairs[:10]) == expected[:10]
    assert threads <= {threading.current_thread().name}
