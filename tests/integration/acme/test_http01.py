"""Certificates from real Pebble with real HTTP-01 validation against our responder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence

import pytest

from certmgr.controller.issuers.acme import (
    HTTP_01,
    AccountRecord,
    AcmeAccountSpec,
    AcmeRejectedError,
    AcmeTemporaryError,
    Http01Responder,
    obtain_certificate,
    register_account,
)
from certmgr.shared.errors import ValidationError
from tests.factories.acme_servers import PebbleServer
from tests.integration.acme.conftest import make_csr, verify_issued


async def test_two_names(
    pebble: PebbleServer, account: AccountRecord, responder: Http01Responder
) -> None:
    names = ("www.certmgr.test", "certmgr.test")
    result = await obtain_certificate(account, make_csr(*names), challenge=responder, timeout=30)
    verify_issued(result, pebble.roots_pem(), *names)
    assert result.order_url.startswith(pebble.directory_url.removesuffix("/dir"))
    assert result.identifiers == names
    assert responder.pending == 0  # every token withdrawn


async def test_several_orders_concurrently(
    pebble: PebbleServer, account: AccountRecord, responder: Http01Responder
) -> None:
    """Pebble's default 5 % badNonce is on: the client must absorb it across many requests."""
    results = await asyncio.gather(
        *(
            obtain_certificate(account, make_csr(f"c{i}.certmgr.test"), challenge=responder)
            for i in range(8)
        )
    )
    roots = pebble.roots_pem()
    for i, result in enumerate(results):
        verify_issued(result, roots, f"c{i}.certmgr.test")
    assert len({r.order_url for r in results}) == 8
    assert responder.pending == 0


class Silent:
    """Claims HTTP-01 but publishes nothing: the CA's fetch gets a 404."""

    def __init__(self) -> None:
        self.cleaned: list[str] = []

    def supports(self, domain: str) -> Sequence[str]:
        return (HTTP_01,)

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        return None

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        self.cleaned.append(domain)


async def test_unanswered_challenge_is_rejected_with_the_ca_message(
    account: AccountRecord, responder: Http01Responder
) -> None:
    solver = Silent()
    with pytest.raises(AcmeRejectedError) as info:
        await obtain_certificate(
            account, make_csr("silent.certmgr.test"), challenge=solver, timeout=30
        )
    err = info.value
    assert err.identifier == "silent.certmgr.test"
    assert err.problem_type == "urn:ietf:params:acme:error:unauthorized"
    assert "404" in str(err)  # Pebble's own detail: what its fetch of the token returned
    assert solver.cleaned == ["silent.certmgr.test"]


async def test_domain_resolving_elsewhere_fails_validation(
    pebble: PebbleServer, account: AccountRecord, responder: Http01Responder
) -> None:
    assert pebble.challtestsrv is not None
    pebble.challtestsrv.add_a("elsewhere.certmgr.test", ["127.0.0.2"])
    try:
        with pytest.raises(AcmeRejectedError) as info:
            await obtain_certificate(
                account, make_csr("elsewhere.certmgr.test"), challenge=responder, timeout=30
            )
    finally:
        pebble.challtestsrv.clear_a("elsewhere.certmgr.test")
    assert info.value.problem_type == "urn:ietf:params:acme:error:connection"
    assert "127.0.0.2" in str(info.value)
    assert responder.pending == 0


async def test_wildcard_needs_dns_01(account: AccountRecord, responder: Http01Responder) -> None:
    with pytest.raises(ValidationError, match="needs dns-01"):
        await obtain_certificate(account, make_csr("*.certmgr.test"), challenge=responder)


async def test_profile_is_left_out_for_pebble(
    pebble: PebbleServer, account: AccountRecord, responder: Http01Responder
) -> None:
    result = await obtain_certificate(
        account,
        make_csr("profile.certmgr.test"),
        challenge=responder,
        profile="shortlived",
        replaces="aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
    )
    assert (result.profile, result.replaces) == (None, None)
    verify_issued(result, pebble.roots_pem(), "profile.certmgr.test")


class Stuck(Silent):
    """Never finishes publishing."""

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        await asyncio.sleep(3600)


async def test_overall_timeout_cleans_up(account: AccountRecord) -> None:
    solver = Stuck()
    started = time.monotonic()
    with pytest.raises(AcmeTemporaryError, match="did not finish within 1 s"):
        await obtain_certificate(
            account, make_csr("stuck.certmgr.test"), challenge=solver, timeout=1
        )
    assert time.monotonic() - started < 5
    assert solver.cleaned == ["stuck.certmgr.test"]


@pytest.fixture(scope="module")
def nonce_hostile_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """Pebble rejecting a fifth of all nonces."""
    with PebbleServer(tmp_path_factory.mktemp("pebble-nonce"), nonce_reject=20) as server:
        yield server


async def test_frequent_bad_nonces_are_absorbed(nonce_hostile_pebble: PebbleServer) -> None:
    pebble = nonce_hostile_pebble
    account = await register_account(
        AcmeAccountSpec(pebble.directory_url, ca_bundle_pem=pebble.ca_bundle_pem)
    )
    async with Http01Responder("127.0.0.1", pebble.http_port) as responder:
        for i in range(4):
            result = await obtain_certificate(
                account, make_csr(f"n{i}.certmgr.test"), challenge=responder, timeout=30
            )
            verify_issued(result, pebble.roots_pem(), f"n{i}.certmgr.test")
