"""Monitoring against real nginx servers: findings raised once, cleared when fixed, one digest per change.

Right, wrong and chain-less servers plus a port where nothing listens; mail through a real aiosmtpd
with STARTTLS and AUTH. The clock is a FakeClock moved to each job's due time, never slept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from tests.factories.servers import NginxServer, free_port
from tests.factories.smtp import SmtpSink
from tests.integration.monitoring.conftest import ADMIN_EMAIL, MonEnv


def _subjects(sink: SmtpSink, word: str) -> list[str]:
    return [m.as_email()["Subject"] for m in sink.messages if word in m.as_email()["Subject"]]


async def test_findings_alerts_and_daily_digest(tmp_path: Path, env: MonEnv) -> None:
    f = env.files
    async with (
        NginxServer(tmp_path / "right", cert=f["fullchainA.pem"], key=f["leafA.key"]) as right,
        NginxServer(tmp_path / "wrong", cert=f["fullchainB.pem"], key=f["leafB.key"]) as wrong,
        NginxServer(tmp_path / "short", cert=f["leafA.pem"], key=f["leafA.key"]) as short,
        SmtpSink(f["fullchainA.pem"], f["leafA.key"]) as sink,
    ):
        await env.mail_to(sink.port)
        await env.schedule(monitor_in=dt.timedelta(hours=1), digest_in=dt.timedelta(hours=5))
        ok_id = await env.deployment(right.port, name="right.test")
        wrong_id = await env.deployment(wrong.port, name="wrong.test")
        short_id = await env.deployment(short.port, name="short.test", production=False)
        down_id = await env.deployment(free_port(), name="down.test")

        # Day 1, in an hour: the monitoring run; the alert goes out through the outbox it wakes.
        runs = await env.run_until_quiet(await env.next_run("monitoring"))
        mon = next(r for r in runs if r.name == "monitoring")
        assert mon.status == "ok", mon.error
        assert (mon.summary["total"], mon.summary["ok"], mon.summary["failed"]) == (4, 1, 3)
        assert await env.open_keys() == {f"mismatch:{wrong_id}", f"chain:{short_id}"}
        assert await env.status(wrong_id) == "check-failed"
        assert await env.status(short_id) == "check-failed"
        assert await env.status(ok_id) == "manually-confirmed"
        assert await env.status(down_id) == "manually-confirmed"  # one failure is no alarm
        assert await sink.messages_arrived(1)
        alert = sink.messages[0].as_email()
        assert "CRITICAL" in alert["Subject"] and alert["To"] == ADMIN_EMAIL
        assert "wrong.test" in alert.get_content()
        assert (
            len(_subjects(sink, "CRITICAL")) == 1
        )  # the non-production chain problem: digest only

        # Running again changes nothing and repeats nothing.
        again = await env.scheduler.run_job("monitoring", force=True)
        assert again.summary["opened"] == 0 and again.summary["cleared"] == 0
        await env.run_until_quiet()

        # Four hours later: exactly one digest with both findings.
        await env.run_until_quiet(await env.next_run("digest"))
        assert await sink.messages_arrived(2)
        digests = [m.as_email() for m in sink.messages if "digest" in m.as_email()["Subject"]]
        assert len(digests) == 1
        body = digests[0].get_content()
        assert "2 new" in digests[0]["Subject"]
        assert "Another certificate served:" in body and "Chain incomplete" in body
        assert "wrong.test" in body

        # Day 2: the wrong server gets the right certificate; the dead one fails a third time.
        await asyncio.to_thread(wrong.stop)
        async with NginxServer(
            tmp_path / "fixed", cert=f["fullchainA.pem"], key=f["leafA.key"], port=wrong.port
        ):
            runs = await env.run_until_quiet(await env.next_run("monitoring"))
            mon = next(r for r in runs if r.name == "monitoring")
            assert (mon.summary["opened"], mon.summary["cleared"]) == (1, 1)
        assert await env.open_keys() == {f"chain:{short_id}", f"unreachable:{down_id}"}
        assert await env.status(wrong_id) == "confirmed"
        assert await env.status(down_id) == "check-failed"
        await env.run_until_quiet(await env.next_run("digest"))
        assert await sink.messages_arrived(3)
        digests = [m.as_email() for m in sink.messages if "digest" in m.as_email()["Subject"]]
        assert len(digests) == 2
        assert "1 new, 1 cleared" in digests[1]["Subject"]

        # Day 3: nothing changes, so no digest at all.
        await env.run_until_quiet(await env.next_run("monitoring"))
        digest_run = [r for r in await env.run_until_quiet(await env.next_run("digest"))]
        assert any(
            r.name == "digest" and r.summary["reason"].startswith("nothing changed")
            for r in digest_run
        )
        assert len(sink.messages) == 3
        assert len(_subjects(sink, "CRITICAL")) == 1
    assert all(m.state == "sent" for m in await env.outbox())
    assert env.clock.now() - dt.datetime.now(dt.UTC) > dt.timedelta(days=2)
