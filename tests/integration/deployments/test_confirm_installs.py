"""Deploy checks after agent installs, checked together: real nginx, real SMTP, SQLite and PostgreSQL.

Reports that arrive together are checked in one batch (one read, one write transaction); each
deployment still gets its own check result, state change, history event, audit records and
install notification, and one deployment that cannot take its result fails alone.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from certmgr.controller.db.models import AuditEvent, CheckResult, Deployment, DeploymentEvent
from tests.factories.homes import home_with_definition, run_cli
from tests.factories.pki import TestPki, make_pki
from tests.factories.servers import NginxServer
from tests.factories.smtp import SmtpSink
from tests.integration.deployments.test_deploy_check import _configure_mail, _new_deployment


@pytest.fixture
def pki() -> TestPki:
    return make_pki(["localhost", "127.0.0.1"])


async def _follow_up(home: Path, rounds: list[list[int]]) -> dict[str, object]:
    """Each round's installs reported at once to one ``InstallFollowUp``; then what was stored."""
    from certmgr.controller.background import Background
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.effects import InstallFollowUp
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key
    from certmgr.shared.clock import SystemClock

    settings = load_settings(home)
    db = Database(settings.database_url)
    try:
        for ids in rounds:
            tasks = Background()
            follow = InstallFollowUp(
                db, read_master_key(settings.master_key_path), SystemClock(), tasks
            )
            for dep_id in ids:
                follow(dep_id, cli_actor(), "by a test")
            await tasks.aclose(timeout=120)
        async with db.reader() as s:
            status = {d.id: d.status for d in (await s.execute(select(Deployment))).scalars()}
            checks = list((await s.execute(select(CheckResult))).scalars())
            audits = Counter(
                (a.action, int(a.entity_id))
                for a in (await s.execute(select(AuditEvent))).scalars()
                if a.action in ("deployment.check", "deployment.confirmed")
            )
            events = Counter(
                (e.event, e.deployment_id)
                for e in (await s.execute(select(DeploymentEvent))).scalars()
            )
    finally:
        await db.dispose()
    return {"status": status, "checks": checks, "audits": audits, "events": events}


def test_installs_reported_together_are_checked_and_recorded_each_as_its_own(
    tmp_path: Path, database_url: str, pki: TestPki
) -> None:
    files = pki.write(tmp_path / "pki")
    home = home_with_definition(tmp_path, database_url, files)
    with (
        SmtpSink(files["fullchainA.pem"], files["leafA.key"]) as sink,
        NginxServer(tmp_path / "ok", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ok,
        NginxServer(
            tmp_path / "wrong", cert=files["fullchainB.pem"], key=files["leafB.key"]
        ) as wrong,
    ):
        ok1, ok2, ok3, retired = (_new_deployment(home, ok.port) for _ in range(4))
        bad = _new_deployment(home, wrong.port)
        for dep in (ok1, ok2, ok3, retired, bad):
            done = run_cli(["deployment", "done", str(dep), "--installed", "--home", str(home)])
            assert done.code == 0, done.err
        assert run_cli(["deployment", "retire", str(retired), "--home", str(home)]).code == 0
        assert _configure_mail(home, sink, files)
        found = asyncio.run(
            _follow_up(
                home,
                [
                    [ok1, bad, ok2, 999_999],  # one batch: a deployment gone is only left out
                    [ok3, retired],  # the retired one cannot take a result: each on its own
                ],
            )
        )
        assert sink.wait_for_messages(3)
    status, checks = found["status"], found["checks"]
    assert isinstance(status, dict) and isinstance(checks, list)
    assert {d: status[d] for d in (ok1, ok2, ok3, bad, retired)} == {
        ok1: "confirmed",
        ok2: "confirmed",
        ok3: "confirmed",
        bad: "check-failed",
        retired: "retired",
    }
    by_dep = Counter(c.deployment_id for c in checks)
    assert by_dep == Counter({ok1: 1, ok2: 1, ok3: 1, bad: 1})  # none kept for the retired one
    assert {c.source for c in checks} == {"deploy-check"}
    first = [c for c in checks if c.deployment_id in (ok1, ok2, bad)]
    assert len({c.at for c in first}) == 1  # the first round was stored in one transaction
    assert found["audits"] == Counter(
        {("deployment.check", d): 1 for d in (ok1, ok2, ok3, bad)}
        | {("deployment.confirmed", d): 1 for d in (ok1, ok2, ok3)}
    )
    events = found["events"]
    assert isinstance(events, Counter)
    assert all(events[("confirmed", d)] == 1 for d in (ok1, ok2, ok3))
    assert events[("check-failed", bad)] == 1
    assert not any(d == retired and e.startswith("check") for e, d in events)
    # one install notification per confirmed deployment, none for the others
    subjects = sorted(m.as_email()["Subject"] for m in sink.messages)
    assert subjects == ["New certificate installed on localhost"] * 3
