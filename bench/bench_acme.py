"""200 definitions renewed through Pebble by certmgr (the requests service, real HTTP-01), beside
Pebble's own capacity (the bare ACME client at high concurrency) and certbot ``certonly`` in the
same run (Pebble's default 5 % badNonce on). The peers run on a second, fresh Pebble: one Pebble
that took several hundred orders slows down to 15-second stalls at high concurrency (seen with
the old and the new client alike).

Afterwards every order's state is checked: each request is ``done``, each definition's current
certificate is its request's new one (key matching the request's key), and Pebble's log shows
exactly one issued certificate per order with each certificate's serial.

``CERTMGR_BENCH_ACME_CONCURRENCY`` (default 8) sets how many renewals run at once;
``CERTMGR_BENCH_CERTBOT`` how many certbot orders (0 skips certbot).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bench.acme_load import certbot_many, renew_many
from bench.common import timer
from tests.factories.acme_servers import PebbleServer

if TYPE_CHECKING:
    from certmgr.controller.db.engine import Database

GOAL_PER_MIN = 1500
_ISSUED = re.compile(r"Issued certificate serial ([0-9a-f]+) for order")


def _issued_serials(pebble: PebbleServer) -> list[int]:
    return [int(m, 16) for m in _ISSUED.findall(pebble.log())]


async def _check_orders(db: Database, request_ids: list[int], issued: set[int]) -> list[str]:
    """What is wrong with the renewals' state afterwards (empty when all is right)."""
    from sqlalchemy import select

    from certmgr.controller.db.models import (
        Certificate,
        CertificateDefinition,
        CertificateRequest,
        PrivateKeyRecord,
    )

    problems: list[str] = []
    async with db.reader() as s:
        reqs = (
            await s.execute(
                select(CertificateRequest).where(CertificateRequest.id.in_(request_ids))
            )
        ).scalars()
        for req in reqs:
            d = await s.get(CertificateDefinition, req.definition_id)
            cert = await s.get(Certificate, req.certificate_id) if req.certificate_id else None
            key = await s.get(PrivateKeyRecord, req.private_key_id) if req.private_key_id else None
            if req.status != "done":
                problems.append(f"request {req.id} is {req.status}: {req.last_error[:200]}")
            elif d is None or cert is None or d.current_certificate_id != cert.id:
                problems.append(
                    f"request {req.id}: its certificate is not the definition's current"
                )
            elif key is None or cert.public_key_sha256 != key.public_sha256:
                problems.append(f"request {req.id}: the certificate is not for the request's key")
            elif int(cert.serial_hex, 16) not in issued:
                problems.append(
                    f"request {req.id}: serial {cert.serial_hex} is not in Pebble's log"
                )
    return problems


async def run(*, quick: bool = False) -> None:
    n = 20 if quick else 200
    certbot_n = 5 if quick else int(os.environ.get("CERTMGR_BENCH_CERTBOT", "200"))
    concurrency = int(os.environ.get("CERTMGR_BENCH_ACME_CONCURRENCY", "8"))
    with tempfile.TemporaryDirectory(prefix="certmgr-bench-acme-") as tmp:
        rate = await _certmgr_round(tmp, n, concurrency)
        # the peers on a Pebble of their own: one Pebble that took several hundred orders
        # slows down to timeouts at high concurrency (seen with either client)
        with PebbleServer(Path(tmp) / "pebble-peers") as pebble:
            await _peers(pebble, n, concurrency, certbot_n, rate)


async def _certmgr_round(tmp: str, n: int, concurrency: int) -> float:
    """Renew ``n`` definitions through a Pebble of their own; print and return orders/min."""
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.home import init_home
    from certmgr.controller.issuers.acme import AcmeConnections
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

    clock, actor = SystemClock(), cli_actor()
    with PebbleServer(Path(tmp) / "pebble") as pebble:
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
        async with (
            http01_responder(settings, db) as solver,
            AcmeConnections() as connections,
        ):
            env = IssuerEnv(
                settings.ca_dir, settings.effective_crl_url, solver, acme_connections=connections
            )
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int) -> int:
                async with sem:
                    req = await start_request(db, vault, actor, f"svc{i}", clock)
                    req = await acquire(db, vault, actor, req.id, clock, env)
                    return req.id

            await asyncio.gather(*(one(i) for i in range(n)))  # first certificates (not timed)
            before = len(_issued_serials(pebble))
            with timer() as t:
                ids = await asyncio.gather(*(one(i) for i in range(n)))
        issued = _issued_serials(pebble)
        problems = await _check_orders(db, list(ids), set(issued))
        await db.dispose()
        ok = n - len(problems)
        rate = 60 * ok / t["wall"]
        print(
            f"certmgr: {ok}/{n} renewals through Pebble (requests service, HTTP-01 from the database, "
            f"concurrency {concurrency}, Pebble's 5% badNonce on)"
        )
        print(
            f"  {t['wall']:.1f} s  {rate:.0f} orders/min  {1000 * t['cpu'] / max(ok, 1):.1f} ms CPU/order"
            f"  (goal {GOAL_PER_MIN}/min: {rate / GOAL_PER_MIN:.2f}x)"
        )
        print(
            f"  state afterwards: {ok} requests done with their certificate current and matching "
            f"their key; Pebble issued {len(issued) - before} certificates in the round"
        )
        for problem in problems[:5]:
            print(f"  WRONG: {problem}")
    return rate


async def _peers(
    pebble: PebbleServer, n: int, concurrency: int, certbot_n: int, rate: float
) -> None:
    """Pebble's capacity (the bare client at four times the concurrency) and certbot, beside ``rate``."""
    peak_n = 3 * n // 2
    with timer() as tp:
        seconds, done = await renew_many(peak_n, pebble, 4 * concurrency, prefix="peak")
    peak = 60 * done / seconds
    print(
        f"Pebble's capacity here (bare client, in-memory HTTP-01, concurrency {4 * concurrency}): "
        f"{done}/{peak_n} orders, {seconds:.1f} s, {peak:.0f} orders/min, "
        f"{1000 * tp['cpu'] / max(done, 1):.1f} ms client CPU/order"
    )
    if peak:
        print(f"ratio: certmgr {rate / peak:.2f}x of Pebble's capacity (goal: about 0.5x)")
    else:  # seen once: a fresh Pebble that answered no order of the round
        print("ratio: none (the capacity round completed no order; run the bench again)")
    if shutil.which("certbot") and certbot_n:
        with timer() as tc:
            seconds, done = await asyncio.to_thread(certbot_many, certbot_n, pebble)
        print(
            f"certbot certonly --standalone: {done}/{certbot_n} orders, {seconds:.1f} s, {60 * done / seconds:.1f} orders/min, {1000 * tc['cpu'] / max(done, 1):.0f} ms CPU/order (incl. children)"
        )
        print(
            f"ratio: certmgr {(rate / (60 * done / seconds)):.1f}x certbot's orders per minute (goal: at least 10x)"
        )
