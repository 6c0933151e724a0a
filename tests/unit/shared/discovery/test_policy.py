"""The trust policy: each rule fires alone on a certificate made to break it (by `cryptography` and
by the real ``openssl``), the default policy passes a good chain, and the policy's JSON form is strict.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certmgr.shared.discovery._policyjson import spki
from certmgr.shared.discovery.policy import (
    RevokedEntry,
    Rule,
    Severity,
    TrustPolicy,
    Verdict,
    Violation,
    judge,
    revoked_from_crl,
    verdict,
)
from certmgr.shared.errors import ValidationError
from tests.unit.shared.discovery.policy_certs import NOW, OpensslCa, Pki, cert, key, make

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make()


def rules(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    policy: TrustPolicy | None = None,
    host_name: str | None = "www.test",
    revoked: Collection[RevokedEntry] = (),
    now: dt.datetime = NOW,
    protocols: Collection[str] | None = None,
    system_roots: Sequence[x509.Certificate] = (),
    known: Sequence[x509.Certificate] = (),
) -> list[Rule]:
    found = judge(
        chain,
        policy=policy or TrustPolicy(),
        host_name=host_name,
        anchors=anchors,
        revoked=revoked,
        now=now,
        protocols_offered=protocols,
        system_roots=system_roots,
        known_intermediates=known,
    )
    for v in found:  # every violation reads as a sentence and names its certificate or endpoint
        assert v.message and v.severity in (Severity.WARNING, Severity.CRITICAL)
    return [v.rule for v in found]


# --- the good chain and each rule alone (cryptography) ---------------------------------------


def test_default_policy_passes_a_good_chain(pki: Pki) -> None:
    found = judge(
        pki.chain,
        policy=TrustPolicy(),
        host_name="www.test",
        anchors=[pki.root],
        revoked=set(),
        now=NOW,
        protocols_offered=["TLSv1.2", "TLSv1.3"],
        system_roots=(),
    )
    assert found == []
    assert verdict(found) == "ok" and verdict(found) is Verdict.OK
    # the root may be served too, and a name the certificate holds by IP is judged as an IP
    assert rules((*pki.chain, pki.root), [pki.root]) == []
    ip_leaf = pki.issue(sans=["192.0.2.7"])
    assert rules((ip_leaf, pki.intermediate), [pki.root], host_name="192.0.2.7") == []


def test_untrusted_unknown_ca_self_signed_and_the_system_store(pki: Pki) -> None:
    other = make("Unknown Root")
    assert rules(other.chain, [pki.root]) == [Rule.UNTRUSTED]
    assert rules((*other.chain, other.root), [pki.root]) == [Rule.UNTRUSTED]  # its root served
    k = key()
    self_signed = cert("www.test", k)
    assert rules((self_signed,), [pki.root]) == [Rule.UNTRUSTED]
    assert rules((self_signed,), [pki.root, self_signed]) == []  # pinned as an anchor
    # the root in the system store: trusted while the policy trusts the store, not otherwise
    assert rules(pki.chain, [], system_roots=[pki.root]) == []
    no_store = TrustPolicy(trust_system_store=False)
    assert rules(pki.chain, [], policy=no_store, system_roots=[pki.root]) == [Rule.UNTRUSTED]
    # the intermediate itself as a configured anchor is enough
    assert rules(pki.chain, [pki.intermediate]) == []


def test_untrusted_message_names_the_missing_anchor(pki: Pki) -> None:
    other = make("Unknown Root")
    [v] = judge(
        other.chain,
        policy=TrustPolicy(),
        host_name=None,
        anchors=[pki.root],
        revoked=(),
        now=NOW,
        system_roots=(),
    )
    assert "CN=Unknown Root" in v.message and v.subject == "CN=www.test"
    assert v.severity is Severity.CRITICAL


def test_chain_incomplete(pki: Pki) -> None:
    assert rules((pki.leaf,), [pki.root], known=[pki.intermediate]) == [Rule.CHAIN_INCOMPLETE]
    # without the intermediate known from elsewhere, trust cannot be established either
    assert rules((pki.leaf,), [pki.root]) == [Rule.UNTRUSTED, Rule.CHAIN_INCOMPLETE]
    # a leaf issued straight by an anchor needs nothing more
    direct = cert("www.test", key(), (pki.root_key, pki.root))
    assert rules((direct,), [pki.root]) == []


def test_chain_order(pki: Pki) -> None:
    assert rules((pki.intermediate, pki.leaf), [pki.root]) == [Rule.CHAIN_ORDER]
    assert rules((pki.leaf, pki.intermediate, pki.intermediate), [pki.root]) == [Rule.CHAIN_ORDER]
    stranger = make("Stranger").intermediate
    assert rules((pki.leaf, pki.intermediate, stranger), [pki.root]) == [Rule.CHAIN_ORDER]


def test_name_mismatch(pki: Pki) -> None:
    assert rules(pki.chain, [pki.root], host_name="other.test") == [Rule.NAME_MISMATCH]
    assert rules(pki.chain, [pki.root], host_name="192.0.2.1") == [Rule.NAME_MISMATCH]
    assert rules(pki.chain, [pki.root], host_name=None) == []  # probed by address: not judged
    wildcard = pki.issue(sans=["*.example.test"])
    assert rules((wildcard, pki.intermediate), [pki.root], host_name="a.example.test") == []


@pytest.mark.parametrize(
    ("kind", "size"), [("rsa", 1024), ("ec", 192), ("dsa", 2048)], ids=["rsa-1024", "p-192", "dsa"]
)
def test_weak_key_on_the_leaf(pki: Pki, kind: str, size: int) -> None:
    leaf = pki.issue(subject_key=key(kind, size))
    assert rules((leaf, pki.intermediate), [pki.root]) == [Rule.WEAK_KEY]


def test_weak_key_on_the_intermediate_and_policy_knobs(pki: Pki) -> None:
    ik = key("rsa", 1024)
    inter = cert(
        "Weak Int", ik, (pki.root_key, pki.root), ca=True, days=1000, start=NOW - 300 * DAY
    )
    leaf = cert("www.test", key(), (ik, inter))
    found = judge(
        (leaf, inter),
        policy=TrustPolicy(),
        host_name="www.test",
        anchors=[pki.root],
        revoked=(),
        now=NOW,
        system_roots=(),
    )
    assert [(v.rule, v.subject) for v in found] == [(Rule.WEAK_KEY, "CN=Weak Int")]
    assert "1024 bits" in found[0].message and "2048" in found[0].message
    assert rules((leaf, inter), [pki.root], policy=TrustPolicy(min_rsa_bits=1024)) == []
    only_rsa = TrustPolicy(allowed_key_types=("rsa",))  # the CAs are RSA, the leaf EC
    assert rules(pki.chain, [pki.root], policy=only_rsa) == [Rule.WEAK_KEY]


@pytest.mark.parametrize("hash_", [hashes.SHA1(), hashes.MD5()], ids=["sha1", "md5"])  # noqa: S303 - the weak hash under test
def test_weak_signature_on_the_leaf(hash_: hashes.HashAlgorithm) -> None:
    rk = key("rsa", 2048)  # weak signatures are made with RSA issuers (see policy_certs)
    root = cert("RSA Root", rk, ca=True, start=NOW - 400 * DAY, days=3650)
    leaf = cert("www.test", key(), (rk, root), hash_=hash_)
    assert rules((leaf,), [root]) == [Rule.WEAK_SIGNATURE]


def test_weak_signature_judged_on_intermediates_not_roots(pki: Pki) -> None:
    ik = key()
    inter = cert(
        "SHA1 Int",
        ik,
        (pki.root_key, pki.root),
        ca=True,
        hash_=hashes.SHA1(),  # noqa: S303 - the weak hash under test
        start=NOW - 300 * DAY,
        days=1000,
    )
    leaf = cert("www.test", key(), (ik, inter))
    found = judge(
        (leaf, inter),
        policy=TrustPolicy(),
        host_name="www.test",
        anchors=[pki.root],
        revoked=(),
        now=NOW,
        system_roots=(),
    )
    assert [(v.rule, v.subject) for v in found] == [(Rule.WEAK_SIGNATURE, "CN=SHA1 Int")]
    rk = key("rsa", 2048)
    sha1_root = cert(
        "SHA1 Root",
        rk,
        ca=True,
        hash_=hashes.SHA1(),  # noqa: S303 - the weak hash under test
        start=NOW - 400 * DAY,
        days=3650,
    )
    good_leaf = cert("www.test", key(), (rk, sha1_root))
    assert rules((good_leaf, sha1_root), [sha1_root]) == []  # a root's own signature: not relied on


def test_expired_and_not_yet_valid(pki: Pki) -> None:
    expired = pki.issue(start=NOW - 100 * DAY, days=90)
    assert rules((expired, pki.intermediate), [pki.root]) == [Rule.EXPIRED]
    future = pki.issue(start=NOW + DAY, days=90)
    assert rules((future, pki.intermediate), [pki.root]) == [Rule.NOT_YET_VALID]
    # an expired intermediate is named too
    ik = key()
    old_int = cert(
        "Old Int", ik, (pki.root_key, pki.root), ca=True, start=NOW - 300 * DAY, days=200
    )
    leaf = cert("www.test", key(), (ik, old_int))
    assert rules((leaf, old_int), [pki.root]) == [Rule.EXPIRED]


def test_expires_soon(pki: Pki) -> None:
    soon = pki.issue(start=NOW - 70 * DAY, days=90)  # 20 days left
    assert rules((soon, pki.intermediate), [pki.root]) == [Rule.EXPIRES_SOON]
    assert rules((soon, pki.intermediate), [pki.root], policy=TrustPolicy(min_days_left=10)) == []
    found = judge(
        (soon, pki.intermediate),
        policy=TrustPolicy(),
        host_name=None,
        anchors=[pki.root],
        revoked=(),
        now=NOW,
        system_roots=(),
    )
    assert "20 days left" in found[0].message
    assert found[0].severity is Severity.WARNING and verdict(found) == "warning"


def test_lifetime_too_long(pki: Pki) -> None:
    long_lived = pki.issue(days=825)
    assert rules((long_lived, pki.intermediate), [pki.root]) == [Rule.LIFETIME_TOO_LONG]
    # 398 days counted as RFC 5280 and the CA/B Forum do, both ends included
    just = pki.issue(days=398 - 1 / 86400)
    over = pki.issue(days=398)
    assert rules((just, pki.intermediate), [pki.root]) == []
    assert rules((over, pki.intermediate), [pki.root]) == [Rule.LIFETIME_TOO_LONG]
    for limit, days in ((200, 201), (100, 101), (47, 48)):  # the coming limits
        leaf = pki.issue(days=days)
        policy = TrustPolicy(max_lifetime_days=limit)
        assert rules((leaf, pki.intermediate), [pki.root], policy=policy) == [
            Rule.LIFETIME_TOO_LONG
        ]
        shorter = pki.issue(days=limit - 1)
        assert rules((shorter, pki.intermediate), [pki.root], policy=policy) == []


def _crl(
    issuer_key: Any, issuer: x509.Certificate, serials: Sequence[int]
) -> x509.CertificateRevocationList:
    b = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(NOW - DAY)
        .next_update(NOW + 7 * DAY)
    )
    for s in serials:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(s).revocation_date(NOW - DAY).build()
        )
    signed: x509.CertificateRevocationList = b.sign(issuer_key, hashes.SHA256())
    return signed


def test_revoked(pki: Pki) -> None:
    leaf = pki.issue(serial=0x1234)
    chain = (leaf, pki.intermediate)
    by_key = revoked_from_crl(_crl(pki.int_key, pki.intermediate, [0x1234, 7]), pki.intermediate)
    assert by_key == {(spki(pki.intermediate), 0x1234), (spki(pki.intermediate), 7)}
    assert rules(chain, [pki.root], revoked=by_key) == [Rule.REVOKED]
    by_name = {("CN=Policy Root Intermediate", 0x1234)}
    assert rules(chain, [pki.root], revoked=by_name) == [Rule.REVOKED]
    assert rules(chain, [pki.root], revoked={(spki(pki.intermediate), 0x1235)}) == []
    # the same serial under another issuer is another certificate
    other = make("Other")
    assert rules(chain, [pki.root], revoked={(spki(other.intermediate), 0x1234)}) == []


def test_revoked_from_crl_refuses_a_crl_of_another_ca(pki: Pki) -> None:
    other = make("Other")
    crl = _crl(other.int_key, other.intermediate, [1])
    with pytest.raises(ValidationError, match="not signed by") as err:
        revoked_from_crl(crl, pki.intermediate)
    assert err.value.field == "crl"


def test_old_protocol(pki: Pki) -> None:
    assert rules(pki.chain, [pki.root], protocols=["TLSv1", "TLSv1.1", "TLSv1.2"]) == [
        Rule.OLD_PROTOCOL
    ]
    assert rules(pki.chain, [pki.root], protocols=["TLSv1.0"]) == [Rule.OLD_PROTOCOL]
    assert rules(pki.chain, [pki.root], protocols=["TLSv1.2", "TLSv1.3"]) == []
    assert rules(pki.chain, [pki.root], protocols=None) == []  # no deeper scan: not judged
    no_floor = TrustPolicy(min_protocol=None)
    assert rules(pki.chain, [pki.root], policy=no_floor, protocols=["TLSv1"]) == []
    strict = TrustPolicy(min_protocol="TLSv1.3")
    assert rules(pki.chain, [pki.root], policy=strict, protocols=["TLSv1.2", "TLSv1.3"]) == [
        Rule.OLD_PROTOCOL
    ]
    with pytest.raises(ValidationError) as err:
        rules(pki.chain, [pki.root], protocols=["TLSv9"])
    assert err.value.field == "protocols_offered"


# --- several rules, severities, disabled rules, verdict ----------------------------------------


def test_several_rules_at_once_and_the_verdict(pki: Pki) -> None:
    bad = pki.issue(
        subject_key=key("rsa", 1024),
        hash_=hashes.SHA1(),  # noqa: S303 - the weak hash under test
        start=NOW - 900 * DAY,
        days=825,
    )
    found = rules((bad,), [pki.root], host_name="other.test", known=[pki.intermediate])
    assert found == [
        Rule.CHAIN_INCOMPLETE,
        Rule.NAME_MISMATCH,
        Rule.WEAK_KEY,
        Rule.WEAK_SIGNATURE,
        Rule.EXPIRED,
        Rule.LIFETIME_TOO_LONG,
    ]


def test_severity_overrides_and_disabled_rules(pki: Pki) -> None:
    soon = pki.issue(start=NOW - 70 * DAY, days=90)
    chain = (soon, pki.intermediate)
    policy = TrustPolicy(severities={Rule.EXPIRES_SOON: Severity.CRITICAL})
    found = judge(
        chain,
        policy=policy,
        host_name=None,
        anchors=[pki.root],
        revoked=(),
        now=NOW,
        system_roots=(),
    )
    assert verdict(found) == "critical"
    assert (
        rules(chain, [pki.root], policy=TrustPolicy(disabled_rules=frozenset({Rule.EXPIRES_SOON})))
        == []
    )
    everything_off = TrustPolicy(disabled_rules=frozenset(Rule))
    assert rules((pki.leaf,), [], policy=everything_off, protocols=["TLSv1"]) == []


def test_verdict() -> None:
    warn = Violation(Rule.CHAIN_ORDER, Severity.WARNING, "order")
    crit = Violation(Rule.EXPIRED, Severity.CRITICAL, "expired", "CN=x")
    assert verdict([]) == "ok"
    assert verdict([warn]) == "warning"
    assert verdict([warn, crit]) == "critical"
    assert crit.to_dict() == {
        "rule": "expired",
        "severity": "critical",
        "message": "expired",
        "subject": "CN=x",
    }


def test_judge_refuses_bad_arguments(pki: Pki) -> None:
    with pytest.raises(ValidationError) as err:
        rules((), [pki.root])
    assert err.value.field == "chain"
    with pytest.raises(ValidationError) as err:
        rules(pki.chain, [pki.root], now=NOW.replace(tzinfo=None))
    assert err.value.field == "now"


def test_the_system_store_is_loaded_when_not_given(pki: Pki) -> None:
    # the real store holds no test root: the chain is untrusted, but judged without error
    found = judge(
        pki.chain, policy=TrustPolicy(), host_name="www.test", anchors=[], revoked=(), now=NOW
    )
    assert [v.rule for v in found] == [Rule.UNTRUSTED]


# --- the policy as JSON ------------------------------------------------------------------------


def test_policy_json_round_trip() -> None:
    default = TrustPolicy()
    assert TrustPolicy.from_dict(json.loads(json.dumps(default.to_dict()))) == default
    custom = TrustPolicy(
        trust_system_store=False,
        min_rsa_bits=3072,
        min_ec_bits=384,
        allowed_key_types=("ec", "ed25519"),
        weak_signature_hashes=("md5", "sha1", "sha224"),
        min_days_left=14,
        max_lifetime_days=47,
        min_protocol="TLSv1.3",
        disabled_rules=frozenset({Rule.CHAIN_ORDER}),
        severities={Rule.EXPIRES_SOON: Severity.CRITICAL},
    )
    data = json.loads(json.dumps(custom.to_dict()))
    assert data["disabled_rules"] == ["chain-order"]
    assert data["severities"] == {"expires-soon": "critical"}
    assert TrustPolicy.from_dict(data) == custom
    assert TrustPolicy.from_dict({}) == default  # missing keys keep their defaults
    assert TrustPolicy.from_dict({"max_lifetime_days": 100}).max_lifetime_days == 100
    assert hash(default.disabled_rules) is not None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"min_rsa_bits": 2048, "colour": "blue"}, "colour"),
        ({"trust_system_store": "yes"}, "trust_system_store"),
        ({"trust_system_store": 1}, "trust_system_store"),
        ({"min_rsa_bits": True}, "min_rsa_bits"),
        ({"min_rsa_bits": "2048"}, "min_rsa_bits"),
        ({"min_rsa_bits": 100}, "min_rsa_bits"),
        ({"min_ec_bits": 1000}, "min_ec_bits"),
        ({"min_days_left": -1}, "min_days_left"),
        ({"max_lifetime_days": 0}, "max_lifetime_days"),
        ({"max_lifetime_days": 47.5}, "max_lifetime_days"),
        ({"allowed_key_types": "rsa"}, "allowed_key_types"),
        ({"allowed_key_types": []}, "allowed_key_types"),
        ({"allowed_key_types": ["rsa", "rot13"]}, "allowed_key_types"),
        ({"weak_signature_hashes": ["sha1", 5]}, "weak_signature_hashes"),
        ({"min_protocol": "TLSv1.4"}, "min_protocol"),
        ({"min_protocol": 12}, "min_protocol"),
        ({"disabled_rules": ["expired", "nope"]}, "disabled_rules"),
        ({"disabled_rules": "expired"}, "disabled_rules"),
        ({"severities": {"nope": "warning"}}, "severities"),
        ({"severities": {"expired": "fatal"}}, "severities.expired"),
        ({"severities": ["expired"]}, "severities"),
    ],
)
def test_policy_json_errors_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        TrustPolicy.from_dict(data)
    assert err.value.field == field
    assert field.split(".")[0] in str(err.value)


def test_policy_json_must_be_an_object() -> None:
    with pytest.raises(ValidationError) as err:
        TrustPolicy.from_dict(["min_rsa_bits"])  # type: ignore[arg-type]
    assert err.value.field == "policy"


def test_policy_is_frozen_and_validated_in_code_too() -> None:
    policy = TrustPolicy()
    with pytest.raises(AttributeError):
        policy.min_rsa_bits = 1024  # type: ignore[misc]
    with pytest.raises(ValidationError) as err:
        TrustPolicy(min_ec_bits=0)
    assert err.value.field == "min_ec_bits"
    with pytest.raises(TypeError):
        policy.severities[Rule.EXPIRED] = Severity.WARNING  # type: ignore[index]


# --- each rule with certificates made by the real openssl --------------------------------------


@pytest.fixture(scope="module")
def ossl(tmp_path_factory: pytest.TempPathFactory) -> OpensslCa:
    return OpensslCa(tmp_path_factory.mktemp("openssl-ca"))


def orules(ca: OpensslCa, leaf: x509.Certificate, **kw: Any) -> list[Rule]:
    chain = kw.pop("chain", None) or (leaf, ca.intermediate)
    return rules(chain, [ca.root], **kw)


def test_openssl_good_chain_passes(ossl: OpensslCa) -> None:
    assert orules(ossl, ossl.issue()) == []
    assert orules(ossl, ossl.issue(newkey="rsa:2048")) == []


def test_openssl_untrusted(ossl: OpensslCa, tmp_path: Path) -> None:
    other = OpensslCa(tmp_path / "other", "Other OpenSSL Root")
    assert rules((other.issue(), other.intermediate), [ossl.root]) == [Rule.UNTRUSTED]


def test_openssl_self_signed_sha1_rsa1024(ossl: OpensslCa, tmp_path: Path) -> None:
    # the classic bad test certificate: openssl req -x509 -sha1 -newkey rsa:1024
    ossl.run(
        "req", "-x509", "-sha1", "-newkey", "rsa:1024", "-nodes", "-keyout", str(tmp_path / "k"),
        "-out", str(tmp_path / "c.pem"), "-days", "30", "-subj", "/CN=www.test",
        "-addext", "subjectAltName=DNS:www.test",
    )  # fmt: skip
    leaf = x509.load_pem_x509_certificate((tmp_path / "c.pem").read_bytes())
    now = leaf.not_valid_before_utc + DAY
    # self-signed: its own SHA-1 signature is not relied on; untrust and the key are the findings
    found = rules((leaf,), [ossl.root], now=now)
    assert found == [Rule.UNTRUSTED, Rule.WEAK_KEY, Rule.EXPIRES_SOON]


def test_openssl_chain_incomplete(ossl: OpensslCa) -> None:
    leaf = ossl.issue()
    assert orules(ossl, leaf, chain=(leaf,), known=[ossl.intermediate]) == [Rule.CHAIN_INCOMPLETE]


def test_openssl_chain_order(ossl: OpensslCa) -> None:
    leaf = ossl.issue()
    assert orules(ossl, leaf, chain=(ossl.intermediate, leaf)) == [Rule.CHAIN_ORDER]


def test_openssl_name_mismatch(ossl: OpensslCa) -> None:
    leaf = ossl.issue(san="DNS:elsewhere.test,IP:192.0.2.9")
    assert orules(ossl, leaf) == [Rule.NAME_MISMATCH]
    assert orules(ossl, leaf, host_name="192.0.2.9") == []


def test_openssl_weak_key(ossl: OpensslCa) -> None:
    assert orules(ossl, ossl.issue(newkey="rsa:1024")) == [Rule.WEAK_KEY]


def test_openssl_weak_signature(ossl: OpensslCa) -> None:
    assert orules(ossl, ossl.issue(md="sha1")) == [Rule.WEAK_SIGNATURE]


def test_openssl_expired(ossl: OpensslCa) -> None:
    assert orules(ossl, ossl.issue(start=NOW - 100 * DAY, days=90)) == [Rule.EXPIRED]


def test_openssl_not_yet_valid(ossl: OpensslCa) -> None:
    assert orules(ossl, ossl.issue(start=NOW + 2 * DAY, days=90)) == [Rule.NOT_YET_VALID]


def test_openssl_expires_soon(ossl: OpensslCa) -> None:
    assert orules(ossl, ossl.issue(start=NOW - 80 * DAY, days=90)) == [Rule.EXPIRES_SOON]


def test_openssl_lifetime_too_long(ossl: OpensslCa) -> None:
    assert orules(ossl, ossl.issue(days=825)) == [Rule.LIFETIME_TOO_LONG]
    assert orules(ossl, ossl.issue(days=60), policy=TrustPolicy(max_lifetime_days=47)) == [
        Rule.LIFETIME_TOO_LONG
    ]


def test_openssl_revoked_by_a_real_crl(ossl: OpensslCa) -> None:
    leaf = ossl.issue()
    kept = ossl.issue()
    crl = ossl.revoke(leaf)  # openssl ca -revoke, then -gencrl
    revoked = revoked_from_crl(crl, ossl.intermediate)
    assert orules(ossl, leaf, revoked=revoked) == [Rule.REVOKED]
    assert orules(ossl, kept, revoked=revoked) == []


def test_sha1_and_md5_chains_still_build() -> None:
    # cryptography refuses to verify SHA-1/MD5 signatures; chain building falls back so that
    # such a chain is a weak chain (weak-signature), not a forged one (untrusted)
    from certmgr.shared.pki.chain import build_chain, issued_by

    rk = key("rsa", 2048)
    root = cert("Legacy Root", rk, ca=True, start=NOW - 400 * DAY, days=3650)
    for weak in (hashes.SHA1(), hashes.MD5()):  # noqa: S303 - the weak hashes under test
        leaf = cert("www.test", key(), (rk, root), hash_=weak)
        assert issued_by(leaf, root)
        assert build_chain(leaf, [], trusted=[root]).complete
        impostor = cert("Legacy Root", key("rsa", 2048), ca=True, start=NOW - DAY, days=10)
        assert not issued_by(leaf, impostor)  # the wrong key still fails
