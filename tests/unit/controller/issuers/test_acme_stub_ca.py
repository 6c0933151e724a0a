"""The ACME client against an in-process stub CA: ARI, profiles, replaces, Retry-After, nonces.

Pebble 2.4.0 offers neither ARI nor profiles, so those are tested here at the seam; the flows
against a real CA are in tests/integration/acme.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Sequence

import pytest
from cryptography import x509

from certmgr.controller.issuers.acme import (
    HTTP_01,
    AccountRecord,
    AcmeAccountSpec,
    AcmeTemporaryError,
    PollPolicy,
    RenewalWindow,
    ari_cert_id,
    directory_features,
    obtain_certificate,
    register_account,
    renewal_info,
)
from certmgr.shared.clock import FakeClock
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import build_csr, csr_pem, generate_private_key
from certmgr.shared.secret import Secret
from tests.factories.acme_stub import AcmeStub

PROFILES = {"classic": "90 days", "shortlived": "6 days"}


class NoChallenges:
    """Claims HTTP-01; the stub's authorizations are already valid, so it is never asked."""

    def supports(self, domain: str) -> Sequence[str]:
        return (HTTP_01,)

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        raise AssertionError("the stub needs no challenge")

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        raise AssertionError("the stub needs no challenge")


def _csr(*names: str) -> bytes:
    return csr_pem(build_csr(generate_private_key("ec-p256"), None, names)).encode()


@pytest.fixture
async def stub() -> AsyncIterator[AcmeStub]:
    async with AcmeStub(profiles=PROFILES) as s:
        yield s


async def _account(stub: AcmeStub) -> AccountRecord:
    return await register_account(AcmeAccountSpec(stub.directory_url, "ops@certmgr.test"))


async def test_directory_features(stub: AcmeStub) -> None:
    has_ari, profiles = await directory_features(stub.directory_url)
    assert has_ari is True
    assert profiles == PROFILES
    async with AcmeStub(ari=False) as plain:
        assert tuple(await directory_features(plain.directory_url)) == (False, {})


async def test_order_sends_profile_and_replaces(stub: AcmeStub) -> None:
    account = await _account(stub)
    result = await obtain_certificate(
        account,
        _csr("www.certmgr.test", "certmgr.test"),
        challenge=NoChallenges(),
        profile="shortlived",
        replaces="aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
        timeout=10,
    )
    (payload,) = stub.payloads("newOrder")
    assert payload == {
        "identifiers": [
            {"type": "dns", "value": "www.certmgr.test"},
            {"type": "dns", "value": "certmgr.test"},
        ],
        "profile": "shortlived",
        "replaces": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
    }
    assert result.profile == "shortlived"
    assert result.replaces == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    assert result.reused_authorizations == 2
    leaf = x509.load_pem_x509_certificate(result.cert_pem)
    assert leaf.issuer == stub.ca_cert.subject
    assert result.fullchain_pem == result.cert_pem + result.chain_pem
    # every request after newAccount is signed with the account URL as kid, never a bare jwk
    for req in stub.requests:
        if req.kind == "newAccount":
            assert "jwk" in req.protected and "kid" not in req.protected
        else:
            assert req.protected["kid"] == account.account_url and "jwk" not in req.protected


async def test_account_default_profile_is_used(stub: AcmeStub) -> None:
    spec = AcmeAccountSpec(stub.directory_url, profile="classic")
    account = await register_account(spec)
    await obtain_certificate(account, _csr("a.certmgr.test"), challenge=NoChallenges(), timeout=10)
    assert stub.payloads("newOrder")[0]["profile"] == "classic"  # type: ignore[index]


async def test_unknown_profile_fails_before_ordering(stub: AcmeStub) -> None:
    account = await _account(stub)
    with pytest.raises(ValidationError, match="no profile 'tlsserver'"):
        await obtain_certificate(
            account, _csr("a.certmgr.test"), challenge=NoChallenges(), profile="tlsserver"
        )
    assert stub.payloads("newOrder") == []


async def test_without_ari_and_profiles_the_fields_are_left_out() -> None:
    async with AcmeStub(ari=False) as plain:
        account = await _account(plain)
        result = await obtain_certificate(
            account,
            _csr("a.certmgr.test"),
            challenge=NoChallenges(),
            profile="shortlived",
            replaces="aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
            timeout=10,
        )
        assert plain.payloads("newOrder") == [
            {"identifiers": [{"type": "dns", "value": "a.certmgr.test"}]}
        ]
        assert (result.profile, result.replaces) == (None, None)


async def test_retry_after_is_honoured_while_processing() -> None:
    async with AcmeStub(processing_polls=2, retry_after="1") as slow:
        account = await _account(slow)
        await obtain_certificate(account, _csr("a.certmgr.test"), challenge=NoChallenges())
        finalized = next(r.at for r in slow.requests if r.kind == "finalize")
        gaps = [
            b - a for a, b in zip([finalized, *slow.order_polls], slow.order_polls, strict=False)
        ]
        assert len(slow.order_polls) == 2  # no polling faster than the CA asked
        assert all(gap >= 0.95 for gap in gaps), gaps


async def test_backoff_without_retry_after() -> None:
    policy = PollPolicy(first=0.02, factor=2.0, maximum=1.0)
    async with AcmeStub(processing_polls=4) as slow:
        account = await _account(slow)
        await obtain_certificate(
            account, _csr("a.certmgr.test"), challenge=NoChallenges(), poll=policy
        )
        polls = slow.order_polls
        gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
        assert len(polls) == 4
        assert gaps == sorted(gaps)
        assert gaps[-1] >= 0.08


async def test_retry_after_beyond_the_deadline_is_a_temporary_error() -> None:
    async with AcmeStub(processing_polls=1, retry_after="3600") as slow:
        account = await _account(slow)
        started = time.monotonic()
        with pytest.raises(AcmeTemporaryError) as info:
            await obtain_certificate(
                account, _csr("a.certmgr.test"), challenge=NoChallenges(), timeout=30
            )
        assert time.monotonic() - started < 5
        assert info.value.retry_after == 3600


async def test_bad_nonces_are_retried_transparently() -> None:
    async with AcmeStub(bad_nonces=3) as flaky:
        account = await _account(flaky)
        assert flaky.rejected_nonces == 3
        flaky.bad_nonces = 5
        await obtain_certificate(account, _csr("a.certmgr.test"), challenge=NoChallenges())
        assert flaky.rejected_nonces == 8


async def test_endless_bad_nonces_give_a_temporary_error() -> None:
    async with AcmeStub(bad_nonces=1000) as broken:
        with pytest.raises(AcmeTemporaryError, match="badNonce") as info:
            await _account(broken)
        assert "anti-replay nonce" in str(info.value)
        assert broken.rejected_nonces == 8  # bounded


async def test_rate_limit_carries_the_ca_detail_and_retry_after() -> None:
    async with AcmeStub(rate_limit="120") as limited:
        account = await _account(limited)
        with pytest.raises(AcmeTemporaryError, match="too many new orders recently") as info:
            await obtain_certificate(account, _csr("a.certmgr.test"), challenge=NoChallenges())
        assert info.value.retry_after == 120
        assert info.value.problem_type == "urn:ietf:params:acme:error:rateLimited"


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_eab_binding_is_hmac_signed_over_the_account_key(stub: AcmeStub) -> None:
    hmac_key = base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")
    spec = AcmeAccountSpec(stub.directory_url, eab_kid="kid-7", eab_hmac_key=Secret(hmac_key))
    assert hmac_key not in repr(spec)
    account = await register_account(spec)
    assert account.eab_kid == "kid-7"
    (payload,) = stub.payloads("newAccount")
    assert payload is not None
    assert payload["termsOfServiceAgreed"] is True
    binding = payload["externalAccountBinding"]
    protected = json.loads(_b64(binding["protected"]))
    assert protected == {"alg": "HS256", "kid": "kid-7", "url": f"{stub.base_url}/account"}
    signed = f"{binding['protected']}.{binding['payload']}".encode()
    expected = hmac.new(b"k" * 32, signed, hashlib.sha256).digest()
    assert _b64(binding["signature"]) == expected
    jwk = json.loads(_b64(binding["payload"]))
    assert jwk == stub.requests[0].protected["jwk"]


async def test_eab_settings_are_checked(stub: AcmeStub) -> None:
    with pytest.raises(ValidationError, match="both"):
        await register_account(AcmeAccountSpec(stub.directory_url, eab_kid="kid-7"))
    with pytest.raises(ValidationError, match="base64url") as info:
        await register_account(
            AcmeAccountSpec(stub.directory_url, eab_kid="k", eab_hmac_key="no such key!")
        )
    assert "no such key" not in str(info.value)


async def test_renewal_info_window_and_retry_after(stub: AcmeStub) -> None:
    account = await _account(stub)
    result = await obtain_certificate(
        account, _csr("a.certmgr.test"), challenge=NoChallenges(), timeout=10
    )
    cert = x509.load_pem_x509_certificate(result.cert_pem)
    window = await renewal_info(account, result.cert_pem)
    assert isinstance(window, RenewalWindow)
    assert (window.start, window.end) == stub.window
    assert window.retry_after == 3600
    assert window.explanation_url == f"{stub.base_url}/why"
    assert stub.renewal_info_ids == [ari_cert_id(cert)]
    # a directory URL works as well as an account
    assert await renewal_info(stub.directory_url, cert) == window


async def test_renewal_info_none_without_ari() -> None:
    async with AcmeStub(ari=False) as plain:
        cert_pem = plain.issue(x509.load_pem_x509_csr(_csr("a.certmgr.test")))
        assert await renewal_info(plain.directory_url, cert_pem) is None


async def test_expired_certificates_are_not_asked_about(stub: AcmeStub) -> None:
    cert = x509.load_pem_x509_certificate(
        stub.issue(x509.load_pem_x509_csr(_csr("a.certmgr.test")))
    )
    later = FakeClock(cert.not_valid_after_utc + dt.timedelta(days=1))
    window = await renewal_info(stub.directory_url, cert, clock=later)
    assert window is not None
    assert window.start == window.end == cert.not_valid_after_utc
    assert stub.renewal_info_ids == []


async def test_records_keep_keys_out_of_reprs(stub: AcmeStub) -> None:
    account = await _account(stub)
    text = repr(account)
    assert "key_pkcs8" not in text
    assert account.key_pkcs8.reveal()[:2] == b"\x30\x81"  # DER PKCS#8 of an EC key
