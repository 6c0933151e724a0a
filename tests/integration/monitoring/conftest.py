"""A controller home with one imported definition, real services, a fake clock and a scheduler."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nacl.public
import nacl.signing
import pytest
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Deployment, Finding, OutboxMessage
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.scheduler import leases
from certmgr.controller.scheduler.jobs import controller_jobs
from certmgr.controller.scheduler.runner import JobRun, Scheduler
from certmgr.controller.services.admin.settings import (
    GeneralSettings,
    MailSettings,
    save_general_settings,
    save_mail_settings,
)
from certmgr.controller.services.deployment.closing import close
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.services.monitoring.config import (
    MonitorConfig,
    NotifyConfig,
    save_monitor_config,
    save_notify_config,
)
from certmgr.controller.settings import Settings, load_settings
from certmgr.controller.vault import MasterKey, read_master_key
from certmgr.shared.clock import FakeClock
from certmgr.shared.secret import Secret
from tests.factories.homes import home_with_definition
from tests.factories.pki import TestPki, make_pki

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")
ADMIN_EMAIL = "certadmin@example.test"


@dataclass
class MonEnv:
    home: Path
    settings: Settings
    vault: MasterKey
    db: Database
    clock: FakeClock
    files: dict[str, Path]
    scheduler: Scheduler

    async def deployment(
        self, port: int, *, name: str, production: bool = True, confirm: bool = True
    ) -> int:
        dep = await create_deployment(
            self.db,
            ADMIN,
            DeploymentSpec(
                definition_ref="web",
                server_name=name,
                check_host="127.0.0.1",
                check_port=port,
                sni="localhost",
                production=production,
            ),
            self.clock,
        )
        if confirm:
            await close(self.db, ADMIN, dep.id, "manual", self.clock, note="in service")
        return dep.id

    async def mail_to(self, port: int) -> None:
        await save_mail_settings(
            self.db,
            self.vault,
            ADMIN,
            MailSettings(
                sender_address="certmgr@example.test",
                host="127.0.0.1",
                port=port,
                security="starttls",
                username="mailer",
                password=Secret("s3cret"),
                ca_file=str(self.files["root.pem"]),
            ),
            self.clock,
        )
        await save_general_settings(
            self.db, ADMIN, GeneralSettings(admin_email=ADMIN_EMAIL), self.clock
        )

    async def config(self, **changes: object) -> None:
        await save_monitor_config(self.db, ADMIN, MonitorConfig(**changes), self.clock)  # type: ignore[arg-type]

    async def schedule(self, *, monitor_in: dt.timedelta, digest_in: dt.timedelta) -> None:
        """Daily monitoring and digest at fixed times after the fake clock's start."""
        now = self.clock.now()
        mon, dig = (now + monitor_in), (now + digest_in)
        await save_monitor_config(
            self.db, ADMIN, MonitorConfig(time_of_day=f"{mon:%H:%M}", probe_timeout=3.0), self.clock
        )
        await save_notify_config(
            self.db, ADMIN, NotifyConfig(digest_time=f"{dig:%H:%M}"), self.clock
        )
        await leases.reschedule(self.db, "monitoring", mon.replace(second=0))
        await leases.reschedule(self.db, "digest", dig.replace(second=0))

    async def next_run(self, job: str) -> dt.datetime:
        rows = {j.name: j for j in await leases.all_jobs(self.db)}
        at = rows[job].next_run_at
        assert at is not None
        return at

    async def run_until_quiet(self, at: dt.datetime | None = None) -> list[JobRun]:
        """Move the clock to ``at`` and run what is due, again while jobs wake others (outbox)."""
        if at is not None and at > self.clock.now():
            self.clock.advance(at - self.clock.now())
        done: list[JobRun] = []
        for _ in range(5):
            runs = await self.scheduler.run_due()
            done += runs
            if not runs:
                break
        return done

    async def open_keys(self) -> set[str]:
        async with self.db.reader() as s:
            return set(
                (await s.execute(select(Finding.key).where(Finding.state == "open"))).scalars()
            )

    async def agent(self) -> tuple[int, nacl.public.PrivateKey]:
        """An enrolled, approved agent (its sealing key kept to open what it is sent)."""
        from certmgr.controller.services.agents.enrolment import create_enrollment_token, enroll
        from certmgr.shared import protocol as p

        box, sign = nacl.public.PrivateKey.generate(), nacl.signing.SigningKey.generate()
        token = p.parse_token(
            await create_enrollment_token(
                self.db,
                ADMIN,
                self.clock,
                controller_url="https://127.0.0.1:1",
                ca_sha256="00" * 32,
            )
        )
        res = await enroll(
            self.db,
            self.vault,
            p.EnrollRequest(
                token_secret=token.secret,
                agent_name="web01",
                hostname="web01",
                agent_version="test",
                x25519_public_key=bytes(box.public_key),
                ed25519_public_key=bytes(sign.verify_key),
            ),
            self.clock,
            address="127.0.0.1",
        )
        return int(res.agent_id), box

    async def status(self, dep_id: int) -> str:
        async with self.db.reader() as s:
            dep = await s.get(Deployment, dep_id)
            assert dep is not None
            return dep.status

    async def outbox(self) -> list[OutboxMessage]:
        async with self.db.reader() as s:
            return list(
                (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
            )


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki(["localhost", "127.0.0.1"])


@pytest.fixture
async def env(tmp_path: Path, database_url: str, pki: TestPki) -> AsyncIterator[MonEnv]:
    files = pki.write(tmp_path / "pki")
    home = await asyncio.to_thread(home_with_definition, tmp_path, database_url, files)
    settings = load_settings(home)
    vault = read_master_key(settings.master_key_path)
    db = Database(settings.database_url)
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    scheduler = Scheduler(db, vault, clock, controller_jobs(), settings=settings, holder="test-1")
    await scheduler.setup()
    try:
        yield MonEnv(home, settings, vault, db, clock, files, scheduler)
    finally:
        await scheduler.aclose()
        await db.dispose()
