"""Wildcards through DNS-01: RFC 2136 updates to a real BIND that Pebble validates against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from certmgr.controller.issuers.acme import (
    DNS_01,
    AccountRecord,
    AcmeAccountSpec,
    Dns01Rfc2136Solver,
    obtain_certificate,
    register_account,
)
from certmgr.shared.errors import UpstreamRejectedError, ValidationError
from certmgr.shared.secret import Secret
from tests.factories.acme_servers import BindServer, PebbleServer
from tests.integration.acme.conftest import make_csr, verify_issued

NINETY_DAYS = 90 * 86400


@pytest.fixture(scope="module")
def bind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BindServer]:
    with BindServer(tmp_path_factory.mktemp("bind")) as server:
        yield server


@pytest.fixture(scope="module")
def dns_pebble(
    bind: BindServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PebbleServer]:
    with PebbleServer(
        tmp_path_factory.mktemp("pebble-dns"),
        dns_server=bind.address,
        validity_seconds=NINETY_DAYS,
        authz_reuse=0,
    ) as server:
        yield server


@pytest.fixture
def solver(bind: BindServer) -> Dns01Rfc2136Solver:
    return Dns01Rfc2136Solver(
        bind.address,
        bind.zone,
        bind.tsig_key_name,
        Secret(bind.tsig_secret),
        bind.tsig_algorithm,
    )


@pytest.fixture
async def dns_account(dns_pebble: PebbleServer) -> AccountRecord:
    return await register_account(
        AcmeAccountSpec(dns_pebble.directory_url, ca_bundle_pem=dns_pebble.ca_bundle_pem)
    )


async def test_wildcard_and_base_name(
    dns_pebble: PebbleServer,
    bind: BindServer,
    dns_account: AccountRecord,
    solver: Dns01Rfc2136Solver,
) -> None:
    names = ("*.certmgr.test", "certmgr.test")
    result = await obtain_certificate(dns_account, make_csr(*names), challenge=solver, timeout=30)
    leaf = verify_issued(result, dns_pebble.roots_pem(), *names)
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert abs(lifetime - dt.timedelta(seconds=NINETY_DAYS)) < dt.timedelta(minutes=5)
    assert bind.txt("_acme-challenge.certmgr.test.") == []  # both values withdrawn


async def test_solver_publishes_and_withdraws_single_values(
    bind: BindServer, solver: Dns01Rfc2136Solver
) -> None:
    await solver.prepare("a.certmgr.test", DNS_01, "t1", "value-1")
    await solver.prepare("*.a.certmgr.test", DNS_01, "t2", "value-2")
    assert bind.txt("_acme-challenge.a.certmgr.test.") == ["value-1", "value-2"]
    await solver.cleanup("a.certmgr.test", DNS_01, "t1", "value-1")
    assert bind.txt("_acme-challenge.a.certmgr.test.") == ["value-2"]
    await solver.cleanup("a.certmgr.test", DNS_01, "t2", "value-2")
    assert bind.txt("_acme-challenge.a.certmgr.test.") == []


async def test_wrong_tsig_secret_is_rejected_without_leaking_it(
    bind: BindServer, dns_account: AccountRecord
) -> None:
    wrong = "d3JvbmctdHNpZy1zZWNyZXQtZm9yLXRoZS10ZXN0LTEyMzQ="
    bad = Dns01Rfc2136Solver(bind.address, bind.zone, bind.tsig_key_name, Secret(wrong))
    with pytest.raises(UpstreamRejectedError, match="TSIG") as info:
        await obtain_certificate(
            dns_account, make_csr("*.bad.certmgr.test"), challenge=bad, timeout=30
        )
    assert wrong not in str(info.value) and bind.tsig_secret not in str(info.value)


async def test_names_outside_the_zone_fail_before_ordering(
    dns_account: AccountRecord, solver: Dns01Rfc2136Solver
) -> None:
    with pytest.raises(ValidationError, match="example.org"):
        await obtain_certificate(dns_account, make_csr("*.example.org"), challenge=solver)
