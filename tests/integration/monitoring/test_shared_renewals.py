"""Issue 17 item 5: two `certmgr serve` processes on one PostgreSQL share a renewal run.

Thirty private-CA definitions (RSA keys, so each renewal takes a moment) are all due. The renewal
job is made due once; both controllers claim batches of it, and every definition is renewed
exactly once: one new certificate each, no definition twice, the run's counts add up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, CertificateDefinition, WorkBatch
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.scheduler import leases
from certmgr.controller.services.acquisition.definitions import DefinitionSpec, create_definition
from certmgr.controller.services.acquisition.private_ca import (
    CaContext,
    IssueRequest,
    issue_for_definitions,
)
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import SystemClock
from tests.factories.controller_proc import (
    Controller,
    job_row,
    shared_pg_home,
    wait_job_finished,
    wait_job_registered,
)
from tests.factories.postgres import free_port

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")
DEFINITIONS = 30


async def test_two_controllers_renew_each_due_definition_once(
    tmp_path: Path, postgres_dsn: str
) -> None:
    home, url = await shared_pg_home(tmp_path, postgres_dsn, "tick_seconds = 0.2\nbatch_size = 1")
    settings = await asyncio.to_thread(load_settings, home)
    vault = await asyncio.to_thread(read_master_key, settings.master_key_path)
    db = Database(url)
    clock = SystemClock()
    names = [f"svc{n}" for n in range(DEFINITIONS)]
    for name in names:
        spec = DefinitionSpec(
            name=name,
            common_name=f"{name}.example.test",
            key_type="rsa-2048",
            renewal_policy={"days_before": 100000},  # due as soon as it is issued
        )
        await create_definition(db, ADMIN, spec, clock=clock)
    ca = CaContext(settings.ca_dir, settings.effective_crl_url)
    await issue_for_definitions(db, vault, ADMIN, ca, [IssueRequest(n) for n in names], clock=clock)
    procs = [
        Controller(home, free_port(), tmp_path / f"serve{n}.log", listen=True) for n in range(2)
    ]
    try:
        for c in procs:
            await asyncio.to_thread(c.start)
        await wait_job_registered(db, "renewal")
        before = await job_row(db, "renewal")
        assert before is not None
        await leases.reschedule(db, "renewal", dt.datetime.now(dt.UTC))
        job = await wait_job_finished(db, "renewal", before.runs, timeout=180)
        assert job.last_result == "ok", job.last_error
        assert job.progress["renewed"] == DEFINITIONS, job.progress
        assert job.progress["failed"] == 0, job.progress
        async with db.reader() as s:
            rows = (
                await s.execute(
                    select(CertificateDefinition.name)
                    .join(Certificate, Certificate.definition_id == CertificateDefinition.id)
                    .where(CertificateDefinition.name.in_(names))
                )
            ).scalars()
            per_definition = Counter(rows)
            batches = list((await s.execute(select(WorkBatch))).scalars())
        assert per_definition == dict.fromkeys(names, 2)  # the first certificate and one renewal
        assert sorted(b.job for b in batches) == ["renewal"] * len(batches)
        assert len({b.done_by for b in batches}) == 2, [b.done_by for b in batches]
    finally:
        for c in procs:
            await asyncio.to_thread(c.stop)
        await db.dispose()
    for c in procs:
        assert "Traceback" not in c.log.read_text(), c.log.read_text()
