"""Discovery in the controller, on SQLite and PostgreSQL, against real nginx on loopback.

A scan is queued, claimed under its lease and run; results are judged by the trust policy and
matched against the repository (unknown, managed, known elsewhere, outdated). Nothing outside
the scope is contacted; a scan above the size limit needs confirmation; a scan with no scope
cannot start; a second claim of a running scan fails; scheduled runs raise findings for what
changed.
"""

from __future__ import annotations

import asyncio

# loaded at collection: the first asyncio.to_thread of a test (the db fixture) would import it on the loop
import concurrent.futures.thread  # noqa: F401
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import DiscoveryScan, Finding, OutboxMessage
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.scheduler.jobs import DISCOVERY, DISCOVERY_SCHEDULE, controller_jobs
from certmgr.controller.scheduler.runner import Scheduler
from certmgr.controller.services.certificates.imports import (
    ImportFile,
    ImportOptions,
    import_files,
)
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.services.monitoring.discovery_config import (
    DiscoveryConfig,
    save_discovery_config,
)
from certmgr.controller.services.monitoring.discovery_diff import record_differences
from certmgr.controller.services.monitoring.discovery_scans import (
    ScanSummary,
    cancel_scan,
    claim_scan,
    run_scan,
    start_scan,
)
from certmgr.controller.services.monitoring.discovery_views import endpoints, get_scan
from certmgr.controller.services.notification.webhooks import add_webhook
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import ConflictError, PermissionDeniedError, ValidationError
from certmgr.shared.targets import TARGETS  # noqa: F401 - loaded here, not on the loop by create_deployment
from tests.factories.hostile import recorder, serve
from tests.factories.pki import TestPki, make_leaf, make_pki, pem_bytes, write_pem
from tests.factories.servers import NginxServer

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")
USER = Actor(name="alice", role=Role.USER, source="test")
CLOCK = SystemClock()
SCOPE = ("127.0.0.0/29",)  # .0 - .7; 127.0.0.9 is outside


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def nginx(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """nginx on 127.0.0.2 serving leaf-A (default) and virtual host b.test (a self-signed leaf)."""
    d = tmp_path_factory.mktemp("nginx")
    files = pki.write(d / "pki")
    key_b, cert_b = make_leaf(None, None, "b.test", ["b.test"])
    sni = {"b.test": (write_pem(d / "b.pem", cert_b), write_pem(d / "b.key", key_b))}
    with NginxServer(
        d, cert=files["fullchainA.pem"], key=files["leafA.key"], host="127.0.0.2", sni_certs=sni
    ) as server:
        yield server


async def scan_now(
    db: Database, targets: str, ports: str, *, scheduled: bool = False
) -> ScanSummary:
    row = await start_scan(db, ADMIN, CLOCK, targets=targets, ports=ports, scheduled=scheduled)
    scan_id = await claim_scan(db, "test-holder", CLOCK.now(), scan_id=row.id)
    assert scan_id == row.id
    return await run_scan(db, CLOCK, scan_id, "test-holder", resolve_names=False)


async def set_scope(db: Database, **kw: object) -> None:
    await save_discovery_config(db, ADMIN, DiscoveryConfig(scope=SCOPE, **kw), CLOCK)  # type: ignore[arg-type]


async def test_scan_judges_matches_and_stays_in_scope(
    db: Database, vault: MasterKey, pki: TestPki, nginx: NginxServer, tmp_path: Path
) -> None:
    await set_scope(db)
    seen: list[str] = []
    async with serve(recorder(seen), "127.0.0.9", nginx.port):
        summary = await scan_now(db, "127.0.0.2 127.0.0.9", str(nginx.port))
    assert seen == []  # the listener outside the scope saw no connection
    assert summary.state == "done" and summary.open_endpoints == 1 and summary.unknown == 1
    rows = await endpoints(db, summary.scan_id)
    out = {r.endpoint.address or r.endpoint.target: r for r in rows}
    assert out["127.0.0.9"].endpoint.outcome == "out-of-scope"
    served = out["127.0.0.2"]
    assert served.endpoint.outcome == "tls" and served.endpoint.match == "unknown"
    assert served.endpoint.protocol in ("TLSv1.2", "TLSv1.3") and served.endpoint.cipher
    assert served.endpoint.handshake_ms is not None and served.certificate is not None
    assert served.certificate.common_name == "leaf-A"
    # the test root is in no trust store: the policy says so, naming the rule
    assert "untrusted" in served.rules and served.endpoint.verdict == "critical"
    scan = await get_scan(db, summary.scan_id)
    assert (scan.state, scan.pairs, scan.created_by) == ("done", 2, "admin")
    assert scan.started_at is not None and scan.finished_at is not None

    # in the repository and deployed here: managed
    imported = await import_files(
        db, vault, ADMIN, [ImportFile("a.pem", pem_bytes(pki.leaf_a, pki.intermediate))]
    )
    def_id = imported[0].definition_id
    assert def_id is not None
    second = await scan_now(db, "127.0.0.2", str(nginx.port))
    (r,) = await endpoints(db, second.scan_id)
    assert (r.endpoint.match, r.endpoint.definition_id) == ("known-elsewhere", def_id)
    dep = await create_deployment(
        db,
        ADMIN,
        DeploymentSpec(def_id, "127.0.0.2", software="nginx", check_port=nginx.port),
        CLOCK,
    )
    third = await scan_now(db, "127.0.0.2", str(nginx.port))
    # the deployment's SNI (leaf-a) is now tried on the address too: both are managed
    by_sni = {x.endpoint.sni: x for x in await endpoints(db, third.scan_id)}
    assert set(by_sni) == {"", "leaf-a"} and by_sni["leaf-a"].endpoint.match == "managed"
    r = by_sni[""]
    assert (r.endpoint.match, r.endpoint.deployment_id) == ("managed", dep.id)

    # a newer certificate becomes current: what the server still serves is outdated
    _, newer = make_leaf(pki.int_key, pki.intermediate, "leaf-A", days=60)
    await import_files(
        db,
        vault,
        ADMIN,
        [ImportFile("new.pem", pem_bytes(newer, pki.intermediate))],
        options=ImportOptions(name=imported[0].definition_name),
    )
    fourth = await scan_now(db, "127.0.0.2", str(nginx.port))
    r = next(x for x in await endpoints(db, fourth.scan_id) if x.endpoint.sni == "")
    assert r.endpoint.match == "outdated"


async def test_virtual_hosts_from_deployments(
    db: Database, vault: MasterKey, pki: TestPki, nginx: NginxServer
) -> None:
    """An address is also probed with the names the repository deploys there (b.test)."""
    await set_scope(db)
    imported = await import_files(
        db, vault, ADMIN, [ImportFile("a.pem", pem_bytes(pki.leaf_a, pki.intermediate))]
    )
    await create_deployment(
        db,
        ADMIN,
        DeploymentSpec(
            imported[0].definition_id or 0,
            "web",
            check_host="127.0.0.2",
            check_port=nginx.port,
            sni="b.test",
        ),
        CLOCK,
    )
    summary = await scan_now(db, "127.0.0.2", str(nginx.port))
    by_sni = {r.endpoint.sni: r for r in await endpoints(db, summary.scan_id)}
    assert set(by_sni) == {"", "b.test"}
    assert by_sni["b.test"].certificate is not None
    assert by_sni["b.test"].certificate.common_name == "b.test"
    assert "name-mismatch" not in by_sni["b.test"].rules
    assert summary.certificates == 2


async def test_scope_size_limit_and_rights(db: Database) -> None:
    with pytest.raises(ValidationError) as no_scope:
        await start_scan(db, ADMIN, CLOCK, targets="127.0.0.2", ports="443")
    assert no_scope.value.field == "scope"
    with pytest.raises(PermissionDeniedError):
        await save_discovery_config(db, USER, DiscoveryConfig(scope=SCOPE), CLOCK)
    with pytest.raises(ValidationError) as bad:
        await save_discovery_config(db, ADMIN, DiscoveryConfig(scope=("10.0.0.0/33",)), CLOCK)
    assert bad.value.field == "scope"
    await set_scope(db, size_limit=4)
    with pytest.raises(ValidationError) as big:
        await start_scan(db, USER, CLOCK, targets="127.0.0.0/30", ports="443,8443")
    assert big.value.field == "confirm_large" and "8 address:port pairs" in str(big.value)
    with pytest.raises(ValidationError) as typo:
        await start_scan(db, USER, CLOCK, targets="127.0.0.300", ports="443")
    assert "127.0.0.300" in str(typo.value)
    row = await start_scan(
        db, USER, CLOCK, targets="127.0.0.0/30", ports="443,8443", confirm_large=True
    )
    assert row.state == "queued" and row.pairs == 8
    # two replicas: exactly one takes the scan
    got = await asyncio.gather(
        claim_scan(db, "a", CLOCK.now(), scan_id=row.id),
        claim_scan(db, "b", CLOCK.now(), scan_id=row.id),
    )
    assert sorted(g is not None for g in got) == [False, True]


async def test_scheduled_runs_raise_differences(
    db: Database, pki: TestPki, nginx: NginxServer, tmp_path: Path
) -> None:
    await set_scope(db)
    spare = NginxServer(
        tmp_path,
        cert=write_pem(tmp_path / "b.pem", pki.leaf_b, pki.intermediate),
        key=write_pem(tmp_path / "b.key", pki.leaf_b_key),
        host="127.0.0.3",
    )
    targets = "127.0.0.2 127.0.0.3"
    async with spare:
        ports = f"{nginx.port},{spare.port}"
        first = await scan_now(db, targets, ports, scheduled=True)
        assert not await record_differences(db, CLOCK, first.scan_id)  # the baseline
    second = await scan_now(db, targets, ports, scheduled=True)
    changes = await record_differences(db, CLOCK, second.scan_id)
    assert [f.kind for f in changes.opened] == ["discovery-gone"]
    assert "127.0.0.3" in changes.opened[0].message
    async with db.reader() as s:
        open_kinds = [
            f.kind
            for f in (await s.execute(select(Finding).where(Finding.state == "open"))).scalars()
        ]
        assert open_kinds == ["discovery-gone"]
        assert (await s.get(DiscoveryScan, second.scan_id)) is not None


async def test_scheduled_scan_through_the_scheduler_notifies(
    db: Database, vault: MasterKey, pki: TestPki, nginx: NginxServer, tmp_path: Path
) -> None:
    """The schedule job queues the scan, the discovery job runs it; a gone endpoint on the next
    run is a finding that goes to the webhooks through the outbox, as monitoring's do.
    """
    spare = NginxServer(
        tmp_path,
        cert=write_pem(tmp_path / "b.pem", pki.leaf_b, pki.intermediate),
        key=write_pem(tmp_path / "b.key", pki.leaf_b_key),
        host="127.0.0.3",
    )
    await add_webhook(db, vault, ADMIN, "https://hooks.example.test/certmgr", CLOCK)
    scheduler = Scheduler(db, vault, CLOCK, controller_jobs(), holder="replica-1")
    await scheduler.setup()
    async with spare:
        cfg = DiscoveryConfig(
            scope=SCOPE,
            schedule_enabled=True,
            schedule_targets="127.0.0.2 127.0.0.3",
            schedule_ports=f"{nginx.port},{spare.port}",
        )
        await save_discovery_config(db, ADMIN, cfg, CLOCK)
        queued = await scheduler.run_job(DISCOVERY_SCHEDULE, force=True)
        assert queued.status == "ok" and queued.summary["queued_scan"]
        first = await scheduler.run_job(DISCOVERY, force=True)
        assert first.status == "ok", first.error
        assert [s["state"] for s in first.summary["scans"]] == ["done"]
        assert first.summary["scans"][0]["open_endpoints"] == 2
    await scheduler.run_job(DISCOVERY_SCHEDULE, force=True)
    second = await scheduler.run_job(DISCOVERY, force=True)
    assert second.summary["enqueued"] >= 1
    async with db.reader() as s:
        findings = list((await s.execute(select(Finding))).scalars())
        hooks = list(
            (
                await s.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))
            ).scalars()
        )
    assert [f.kind for f in findings] == ["discovery-gone"]
    assert any('"discovery-gone"' in m.body for m in hooks)
    # nothing queued: the job is idle and leaves no audit noise
    idle = await scheduler.run_job(DISCOVERY, force=True)
    assert idle.summary.get("idle") is True


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.0 400 nonsense\r\n\r\n" + b"\x00\xff" * 512)
    await writer.drain()


async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # says nothing, never closes: the handshake deadline ends it


async def test_hostile_servers_are_stored_with_their_outcome_and_cancel(db: Database) -> None:
    await set_scope(db, handshake_timeout=1.0, connect_timeout=0.5)
    async with serve(garbage, "127.0.0.6") as p1, serve(stall, "127.0.0.7") as p2:
        summary = await scan_now(db, "127.0.0.6 127.0.0.7", f"{p1},{p2}")
    assert summary.state == "done" and summary.open_endpoints == 0
    got = {
        (r.endpoint.address, r.endpoint.port): r.endpoint
        for r in await endpoints(db, summary.scan_id, tls_only=False)
    }
    assert got[("127.0.0.6", p1)].outcome in ("no-tls", "error") and got[("127.0.0.6", p1)].message
    assert got[("127.0.0.7", p2)].outcome == "timeout" and got[("127.0.0.7", p2)].message
    # closed ports are counted, not stored
    assert ("127.0.0.6", p2) not in got and summary.probed == 4

    queued = await start_scan(db, USER, CLOCK, targets="127.0.0.6", ports="1")
    stopped = await cancel_scan(db, USER, queued.id, CLOCK)
    assert stopped.state == "cancelled"
    assert await claim_scan(db, "x", CLOCK.now(), scan_id=queued.id) is None
    with pytest.raises(ConflictError):
        await cancel_scan(db, USER, queued.id, CLOCK)
