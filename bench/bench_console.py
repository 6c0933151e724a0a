"""Certificate Definitions screen and API list with 10,000 definitions (each with a certificate and a deployment).

Prints the median server time per page and the number of SQL statements per page for several
page sizes (constant = no N+1), beside the bare SQL query of the same page as the floor.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import statistics
import time

from sqlalchemy import event, select

from bench.common import workdir


async def _populate(db, n: int) -> None:  # type: ignore[no-untyped-def]
    from certmgr.controller.db.models import Certificate, CertificateDefinition, Deployment

    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as s:
        defs = [
            CertificateDefinition(
                name=f"svc-{i:05d}",
                common_name=f"svc{i}.bench.test",
                sans=[f"svc{i}.bench.test"],
                key_type="ec-p256",
                issuer_kind=("private-ca", "acme", "vendor")[i % 3],
                requirements={},
                renewal_policy={},
                created_at=now,
                updated_at=now,
            )
            for i in range(n)
        ]
        s.add_all(defs)
        await s.flush()
        certs = [
            Certificate(
                definition_id=d.id,
                der=b"\x30\x00",
                sha256=hashlib.sha256(f"c{i}".encode()).hexdigest(),
                sha1="0" * 40,
                public_key_sha256="0" * 64,
                serial_hex=f"{i:x}",
                subject=f"CN={d.common_name}",
                common_name=d.common_name,
                issuer="CN=Bench CA",
                sans=list(d.sans),
                not_before=now - dt.timedelta(days=10),
                not_after=now + dt.timedelta(days=(i % 400) - 20),
                key_label="EC P-256",
                source="imported",
                created_at=now,
            )
            for i, d in enumerate(defs)
        ]
        s.add_all(certs)
        await s.flush()
        for d, c in zip(defs, certs, strict=True):
            d.current_certificate_id = c.id
        s.add_all(
            [
                Deployment(
                    definition_id=d.id,
                    name=f"web{i}",
                    server_name=f"web{i}",
                    check_host=f"web{i}",
                    target_type="nginx",
                    target_params={},
                    delivery="agent",
                    status=("confirmed", "installed", "check-failed", "prepared")[i % 4],
                    certificate_id=c.id,
                    created_at=now,
                    updated_at=now,
                )
                for i, (d, c) in enumerate(zip(defs, certs, strict=True))
            ]
        )


async def run(*, quick: bool = False) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from certmgr.controller.app import create_app
    from certmgr.controller.db.engine import Database
    from certmgr.controller.db.models import Certificate, CertificateDefinition
    from certmgr.controller.home import init_home
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key

    n = 2000 if quick else 10_000
    d = workdir("console")
    await init_home(d / "home", admin_password="bench-password-123")
    settings = load_settings(d / "home")
    db = Database(settings.database_url)
    await _populate(db, n)
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.services.admin.tokens import create_token
    from certmgr.shared.clock import SystemClock

    _, token = await create_token(db, cli_actor(), "admin", "bench", SystemClock())
    statements = 0

    def count(*_a: object, **_k: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    app = create_app(settings, read_master_key(settings.master_key_path), db=db)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    h = {"Authorization": f"Bearer {token}"}
    print(f"{n} definitions, each with a certificate and a deployment (SQLite)")
    print(f"{'':44}{'median ms':>10}{'p90 ms':>9}{'SQL/page':>10}")
    pages = [1, 10, 50, 100, n // 50] if not quick else [1, 10, 20]
    try:
        for per_page in (10, 50, 200):
            for kind in ("api", "console-sorted"):
                times: list[float] = []
                stmts: list[int] = []
                for p in pages:
                    if kind == "api":
                        cur = (
                            base64.urlsafe_b64encode(json.dumps({"after": p * per_page}).encode())
                            .decode()
                            .rstrip("=")
                        )
                        url = f"/api/v1/definitions?limit={per_page}&cursor={cur}"
                    else:
                        url = f"/definitions?page={p}&per_page={per_page}&sort=expires&dir=desc"
                    for _ in range(3):
                        statements = 0
                        t0 = time.perf_counter()
                        resp = await client.get(url, headers=h)
                        await resp.read()
                        times.append((time.perf_counter() - t0) * 1000)
                        stmts.append(statements)
                        assert resp.status == 200, (url, resp.status)
                times.sort()
                print(
                    f"{kind + f' {per_page}/page':44}{statistics.median(times):>10.1f}{times[int(len(times) * 0.9) - 1]:>9.1f}{max(stmts):>10}"
                )
        # floor: the bare page query
        floor: list[float] = []
        async with db.reader() as s:
            for p in pages:
                t0 = time.perf_counter()
                await s.execute(
                    select(CertificateDefinition, Certificate.not_after)
                    .outerjoin(
                        Certificate, Certificate.id == CertificateDefinition.current_certificate_id
                    )
                    .order_by(Certificate.not_after.desc())
                    .limit(50)
                    .offset((p - 1) * 50)
                )
                floor.append((time.perf_counter() - t0) * 1000)
        print(f"{'bare SQLAlchemy page query (50/page)':44}{statistics.median(floor):>10.1f}")
        print("goal: <= 150 ms per page; SQL statements per page do not grow with the page size")
    finally:
        await client.close()
        await db.dispose()
