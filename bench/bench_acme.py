"""200 definitions renewed through Pebble by certmgr (the requests service, real HTTP-01), beside certbot
`certonly` doing the same number of orders against the same Pebble in the same run."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from bench.acme_load import certbot_many
from bench.common import timer
from tests.factories.acme_servers import PebbleServer


async def run(*, quick: bool = False) -> None:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.home import init_home
    from certmgr.controller.services.acquisition.acme_accounts import (
        NewAcmeAccount,
        add_acme_account,
    )
    from certmgr.controller.services.acquisition.acme_runtime import http01_responder
    from certmgr.controller.services.acquisition.definitions import (
        DefinitionSpec,
        create_definition,
    )
    from certmgr.controller.services.acquisition.issuing import acquire
    from certmgr.controller.services.acquisition.requests import IssuerEnv, start_request
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key
    from certmgr.shared.clock import SystemClock

    n = 20 if quick else 200
    certbot_n = 5 if quick else int(os.environ.get("CERTMGR_BENCH_CERTBOT", "200"))
    concurrency = 4
    clock, actor = SystemClock(), cli_actor()
    with (
        tempfile.TemporaryDirectory(prefix="certmgr-bench-acme-") as tmp,
        PebbleServer(Path(tmp) / "pebble") as pebble,
    ):
        await init_home(Path(tmp) / "home", admin_password="bench-password-123")
        os.environ["CERTMGR_HTTP01_LISTEN"] = f"127.0.0.1:{pebble.http_port}"
        settings = load_settings(Path(tmp) / "home")
        db = Database(settings.database_url)
        vault = read_master_key(settings.master_key_path)
        acc = await add_acme_account(
            db,
            vault,
            actor,
            NewAcmeAccount(
                name="pebble",
                directory_url=pebble.directory_url,
                ca_bundle_pem=pebble.ca_bundle_pem,
            ),
            clock,
        )
        for i in range(n):
            await create_definition(
                db,
                actor,
                DefinitionSpec(
                    name=f"svc{i}",
                    common_name=f"svc{i}.bench.test",
                    issuer_kind="acme",
                    acme_account_id=acc.id,
                ),
                clock=clock,
            )
        async with http01_responder(settings, db) as solver:
            env = IssuerEnv(settings.ca_dir, settings.effective_crl_url, solver)
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int) -> bool:
                async with sem:
                    req = await start_request(db, vault, actor, f"svc{i}", clock)
                    req = await acquire(db, vault, actor, req.id, clock, env)
                    return req.status == "done"

            await asyncio.gather(*(one(i) for i in range(n)))  # first certificates (not timed)
            with timer() as t:
                ok = sum(await asyncio.gather(*(one(i) for i in range(n))))
        await db.dispose()
        print(
            f"certmgr: {ok}/{n} renewals through Pebble (HTTP-01, concurrency {concurrency}, Pebble's 5% badNonce on)"
        )
        print(
            f"  {t['wall']:.1f} s  {60 * ok / t['wall']:.0f} orders/min  {1000 * t['cpu'] / max(ok, 1):.1f} ms CPU/order"
        )
        if shutil.which("certbot") and certbot_n:
            with timer() as tc:
                seconds, done = await asyncio.to_thread(certbot_many, certbot_n, pebble)
            print(
                f"certbot certonly --standalone: {done}/{certbot_n} orders, {seconds:.1f} s, {60 * done / seconds:.1f} orders/min, {1000 * tc['cpu'] / max(done, 1):.0f} ms CPU/order (incl. children)"
            )
            print(
                f"ratio: certmgr {((60 * ok / t['wall']) / (60 * done / seconds)):.1f}x certbot's orders per minute (goal: at least 10x)"
            )
