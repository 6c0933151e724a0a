"""The outbox: a dead SMTP server keeps the alert pending and visible until it can be delivered;
webhooks reach a real aiohttp server on loopback, signed, and are retried after an error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from certmgr.controller.db.models import SentEmail
from certmgr.controller.services.notification.outbox import outbox_page
from certmgr.controller.services.notification.webhooks import add_webhook, signature_valid
from tests.factories.servers import NginxServer, free_port
from tests.factories.smtp import SmtpSink
from tests.integration.monitoring.conftest import ADMIN, MonEnv

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_dead_smtp_keeps_the_alert_pending_until_it_is_back(
    tmp_path: Path, env: MonEnv
) -> None:
    f = env.files
    port = free_port()
    await env.mail_to(port)  # nothing listens there yet
    await env.schedule(monitor_in=dt.timedelta(minutes=30), digest_in=dt.timedelta(hours=6))
    async with NginxServer(
        tmp_path / "wrong", cert=f["fullchainB.pem"], key=f["leafB.key"]
    ) as wrong:
        await env.deployment(wrong.port, name="wrong.test")
        await env.run_until_quiet(await env.next_run("monitoring"))
    (msg,) = await env.outbox()
    assert (msg.channel, msg.kind, msg.state, msg.attempts) == ("email", "alert", "pending", 1)
    assert "Connect call failed" in msg.last_error
    assert msg.next_attempt_at == env.clock.now() + dt.timedelta(minutes=1)
    rows, counts = await outbox_page(env.db)
    assert counts == {"pending": 1} and rows[0].id == msg.id
    async with env.db.reader() as s:
        sent = (await s.execute(select(SentEmail))).scalar_one()
    assert (sent.result, sent.attempts, sent.kind) == ("pending", 1, "alert")

    async with SmtpSink(f["fullchainA.pem"], f["leafA.key"], port=port) as sink:
        await env.run_until_quiet(env.clock.now() + dt.timedelta(seconds=30))
        assert sink.messages == []  # the retry waits for its time
        await env.run_until_quiet(env.clock.now() + dt.timedelta(seconds=31))
        assert await sink.messages_arrived(1)
        assert "CRITICAL" in sink.messages[0].as_email()["Subject"]
    (msg,) = await env.outbox()
    assert (msg.state, msg.attempts) == ("sent", 2)
    async with env.db.reader() as s:
        sent = (await s.execute(select(SentEmail))).scalar_one()
    assert (sent.result, sent.attempts, sent.error) == ("sent", 2, "")


async def test_webhook_gets_a_signed_json_and_is_retried(tmp_path: Path, env: MonEnv) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=503 if len(received) == 1 else 204)

    app = web.Application()
    app.router.add_post("/hooks/T0123/very-secret-path", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/hooks/T0123/very-secret-path"))
        _, secret = await add_webhook(
            env.db, env.vault, ADMIN, url, env.clock, events=["finding.opened"]
        )
        await env.schedule(monitor_in=dt.timedelta(minutes=30), digest_in=dt.timedelta(hours=6))
        f = env.files
        with NginxServer(tmp_path / "short", cert=f["leafA.pem"], key=f["leafA.key"]) as short:
            dep = await env.deployment(short.port, name="short.test")
            await env.run_until_quiet(await env.next_run("monitoring"))
        assert len(received) == 1  # 503: kept for a retry
        (msg,) = await env.outbox()
        assert msg.state == "pending" and "HTTP 503" in msg.last_error
        assert "very-secret-path" not in msg.target and "very-secret-path" not in msg.last_error
        await env.run_until_quiet(env.clock.now() + dt.timedelta(minutes=1, seconds=1))
        assert len(received) == 2
        (msg,) = await env.outbox()
        assert (msg.state, msg.attempts) == ("sent", 2)
    finally:
        await server.close()
    for attempt, (headers, body) in enumerate(received, start=1):
        assert signature_valid(secret.reveal().encode(), body, headers["X-Certmgr-Signature"])
        assert headers["X-Certmgr-Signature"].startswith("sha256=")
        assert headers["X-Certmgr-Event"] == "finding.opened"
        assert headers["Content-Type"] == "application/json"
        payload = json.loads(body)
        assert payload["attempt"] == attempt and payload["id"] == msg.id
        assert payload["data"]["kind"] == "chain" and payload["data"]["deployment_id"] == dep
        sent_at = dt.datetime.fromisoformat(payload["sent_at"])
        assert int(sent_at.timestamp()) == int(headers["X-Certmgr-Timestamp"])
    assert not signature_valid(
        b"another secret", received[0][1], received[0][0]["X-Certmgr-Signature"]
    )
