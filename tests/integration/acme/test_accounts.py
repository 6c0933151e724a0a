"""ACME accounts on real Pebble: plain, with external account binding, and failure modes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from certmgr.controller.issuers.acme import (
    AcmeAccountSpec,
    AcmeRejectedError,
    AcmeTemporaryError,
    directory_features,
    register_account,
    renewal_info,
)
from certmgr.shared.errors import TemporaryUpstreamError, UpstreamRejectedError, ValidationError
from certmgr.shared.pki import private_key_from_pkcs8_der
from certmgr.shared.secret import Secret
from tests.factories._serverbase import free_port
from tests.factories.acme_servers import PebbleServer, make_eab_hmac_key

EAB_KEY = make_eab_hmac_key()


@pytest.fixture(scope="module")
def eab_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    with PebbleServer(tmp_path_factory.mktemp("pebble-eab"), eab_keys={"kid-1": EAB_KEY}) as p:
        yield p


async def test_register_plain_account(pebble: PebbleServer) -> None:
    spec = AcmeAccountSpec(
        pebble.directory_url, "ops@certmgr.test", ca_bundle_pem=pebble.ca_bundle_pem
    )
    account = await register_account(spec)
    assert account.status == "valid"
    assert account.account_url.startswith(pebble.directory_url.removesuffix("dir"))
    assert account.contact_email == "ops@certmgr.test"
    private_key_from_pkcs8_der(account.key_pkcs8.reveal())  # a usable PKCS#8 key
    assert "BEGIN" not in repr(account) and "key_pkcs8" not in repr(account)


async def test_pebble_features(pebble: PebbleServer) -> None:
    assert tuple(
        await directory_features(pebble.directory_url, ca_bundle_pem=pebble.ca_bundle_pem)
    ) == (False, {})


async def test_renewal_info_is_none_without_ari(pebble: PebbleServer) -> None:
    root = pebble.roots_pem()
    assert (
        await renewal_info(pebble.directory_url, root, ca_bundle_pem=pebble.ca_bundle_pem) is None
    )


async def test_eab_missing_is_refused_with_the_ca_message(eab_pebble: PebbleServer) -> None:
    spec = AcmeAccountSpec(eab_pebble.directory_url, ca_bundle_pem=eab_pebble.ca_bundle_pem)
    with pytest.raises(AcmeRejectedError, match="externalAccountBinding") as info:
        await register_account(spec)
    assert isinstance(info.value, UpstreamRejectedError)
    assert info.value.problem_type == "urn:ietf:params:acme:error:externalAccountRequired"


async def test_eab_wrong_hmac_is_unauthorized(eab_pebble: PebbleServer) -> None:
    wrong = make_eab_hmac_key()
    spec = AcmeAccountSpec(
        eab_pebble.directory_url,
        ca_bundle_pem=eab_pebble.ca_bundle_pem,
        eab_kid="kid-1",
        eab_hmac_key=Secret(wrong),
    )
    with pytest.raises(AcmeRejectedError, match="external account binding") as info:
        await register_account(spec)
    assert info.value.problem_type == "urn:ietf:params:acme:error:unauthorized"
    assert wrong not in str(info.value) and EAB_KEY not in str(info.value)


async def test_eab_correct_binding_gives_a_valid_account(eab_pebble: PebbleServer) -> None:
    spec = AcmeAccountSpec(
        eab_pebble.directory_url,
        "ops@certmgr.test",
        ca_bundle_pem=eab_pebble.ca_bundle_pem,
        eab_kid="kid-1",
        eab_hmac_key=Secret(EAB_KEY.encode()),
    )
    account = await register_account(spec)
    assert account.status == "valid"
    assert account.eab_kid == "kid-1"
    assert EAB_KEY not in repr(spec) + repr(account)


async def test_unreachable_directory_is_temporary_and_quick() -> None:
    started = time.monotonic()
    with pytest.raises(AcmeTemporaryError, match="unreachable") as info:
        await register_account(AcmeAccountSpec(f"https://127.0.0.1:{free_port()}/dir"))
    assert isinstance(info.value, TemporaryUpstreamError)
    assert time.monotonic() - started < 2


async def test_untrusted_https_is_rejected(pebble: PebbleServer) -> None:
    with pytest.raises(AcmeRejectedError, match="not trusted"):
        await register_account(AcmeAccountSpec(pebble.directory_url))


async def test_not_an_acme_directory(pebble: PebbleServer) -> None:
    spec = AcmeAccountSpec(f"{pebble.management_url}/roots/0", ca_bundle_pem=pebble.ca_bundle_pem)
    with pytest.raises(AcmeRejectedError, match="not ACME JSON"):
        await register_account(spec)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/dir", "127.0.0.1/dir", "https://"])
async def test_malformed_directory_url(url: str) -> None:
    with pytest.raises(ValidationError):
        await register_account(AcmeAccountSpec(url))


async def test_bad_ca_bundle(pebble: PebbleServer) -> None:
    with pytest.raises(ValidationError, match="CA bundle"):
        await register_account(AcmeAccountSpec(pebble.directory_url, ca_bundle_pem=b"junk"))
