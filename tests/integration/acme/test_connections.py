"""Kept-open ACME connections (``AcmeConnections``) against real Pebble: reused between orders,
never shared by two orders at once, dropped after a failure; and the renewal path through the
requests service borrowing them (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateDefinition
from certmgr.controller.domain.actors import cli_actor
from certmgr.controller.issuers.acme import (
    AccountRecord,
    AcmeConnections,
    AcmeRejectedError,
    Http01Responder,
    obtain_certificate,
)
from certmgr.controller.services.acquisition.acme_accounts import (
    NewAcmeAccount,
    add_acme_account,
)
from certmgr.controller.services.acquisition.challenges import DbHttp01Solver, responder_app
from certmgr.controller.services.acquisition.definitions import DefinitionSpec, create_definition
from certmgr.controller.services.acquisition.issuing import acquire
from certmgr.controller.services.acquisition.requests import IssuerEnv, start_request
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import SystemClock
from tests.factories.acme_servers import PebbleServer
from tests.integration.acme.conftest import make_csr, verify_issued
from tests.integration.acme.test_http01 import Silent


async def test_orders_borrow_one_kept_connection(
    pebble: PebbleServer, account: AccountRecord, responder: Http01Responder
) -> None:
    async with AcmeConnections() as connections:
        for i in range(3):
            result = await obtain_certificate(
                account,
                make_csr(f"kept{i}.certmgr.test"),
                challenge=responder,
                timeout=30,
                connections=connections,
            )
            verify_issued(result, pebble.roots_pem(), f"kept{i}.certmgr.test")
        assert connections.opened == 1 and connections.kept == 1
    assert connections.kept == 0  # closed with the block
    assert responder.pending == 0


async def test_concurrent_orders_each_have_their_own(
    pebble: PebbleServer, account: AccountRecord, responder: Http01Responder
) -> None:
    """Pebble's 5 % badNonce is on: nonces kept between orders must still be absorbed."""
    async with AcmeConnections() as connections:
        for round_ in range(2):
            results = await asyncio.gather(
                *(
                    obtain_certificate(
                        account,
                        make_csr(f"par{round_}-{i}.certmgr.test"),
                        challenge=responder,
                        connections=connections,
                    )
                    for i in range(4)
                )
            )
            for i, result in enumerate(results):
                verify_issued(result, pebble.roots_pem(), f"par{round_}-{i}.certmgr.test")
        assert connections.opened <= 4 and connections.kept == connections.opened


async def test_a_failed_order_does_not_hand_its_connection_back(
    account: AccountRecord, responder: Http01Responder
) -> None:
    async with AcmeConnections() as connections:
        with pytest.raises(AcmeRejectedError):
            await obtain_certificate(
                account,
                make_csr("silent.certmgr.test"),
                challenge=Silent(),
                timeout=30,
                connections=connections,
            )
        assert connections.opened == 1 and connections.kept == 0
        await obtain_certificate(
            account,
            make_csr("after.certmgr.test"),
            challenge=responder,
            timeout=30,
            connections=connections,
        )
        assert connections.opened == 2 and connections.kept == 1


async def test_a_closed_pool_keeps_nothing(
    account: AccountRecord, responder: Http01Responder
) -> None:
    connections = AcmeConnections()
    await connections.close()
    await obtain_certificate(
        account,
        make_csr("closed.certmgr.test"),
        challenge=responder,
        timeout=30,
        connections=connections,
    )
    assert connections.opened == 1 and connections.kept == 0


@pytest.fixture
async def db_responder(db: Database, pebble: PebbleServer) -> AsyncIterator[None]:
    """The controller's database-backed HTTP-01 responder on the port Pebble validates."""
    runner = web.AppRunner(responder_app(db), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", pebble.http_port).start()
    yield
    await runner.cleanup()


async def test_renewals_through_the_service_share_connections(
    db: Database, vault: MasterKey, pebble: PebbleServer, db_responder: None, tmp_path: Path
) -> None:
    clock, actor = SystemClock(), cli_actor()
    acc = await add_acme_account(
        db,
        vault,
        actor,
        NewAcmeAccount(
            name="pebble", directory_url=pebble.directory_url, ca_bundle_pem=pebble.ca_bundle_pem
        ),
        clock,
    )
    names = [f"svc{i}" for i in range(3)]
    for name in names:
        spec = DefinitionSpec(
            name=name,
            common_name=f"{name}.certmgr.test",
            issuer_kind="acme",
            acme_account_id=acc.id,
        )
        await create_definition(db, actor, spec, clock=clock)
    async with AcmeConnections() as connections:
        env = IssuerEnv(tmp_path, "", DbHttp01Solver(db), acme_connections=connections)
        for _round in range(2):  # new certificates, then renewals (ARI looked up from the pool)
            done: list[Any] = []
            for name in names:
                req = await start_request(db, vault, actor, name, clock)
                done.append(await acquire(db, vault, actor, req.id, clock, env))
            assert [r.status for r in done] == ["done"] * 3, [r.last_error for r in done]
        assert connections.opened == 1
    async with db.reader() as s:
        for req in done:
            d = await s.get(CertificateDefinition, req.definition_id)
            assert d is not None and d.current_certificate_id == req.certificate_id
