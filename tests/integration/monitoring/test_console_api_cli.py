"""Monitor Control, Findings, Acquisition, Readiness, Notifications and the dashboard, the API,
/metrics with its token, and the CLI - against the real application and a real nginx."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path

import aiohttp

from tests.factories.console import Console, console_client, field_error, sign_in
from tests.factories.homes import arun_cli, home_with_definition
from tests.factories.pki import TestPki
from tests.factories.servers import NginxServer

METRICS_TOKEN = "metrics-token-for-prometheus-42"


async def _new_deployment(c: Console, h: dict[str, str], port: int, name: str) -> int:
    resp = await c.client.post(
        "/api/v1/deployments",
        json={
            "definition": "web",
            "server_name": name,
            "check_host": "127.0.0.1",
            "check_port": port,
            "sni": "localhost",
        },
        headers=h,
    )
    assert resp.status == 201, await resp.text()
    dep_id = int((await resp.json())["id"])
    resp = await c.client.post(
        f"/api/v1/deployments/{dep_id}/close", json={"how": "manual"}, headers=h
    )
    assert resp.status == 200, await resp.text()
    return dep_id


async def test_screens_api_metrics_and_cli(tmp_path: Path, pki: TestPki) -> None:
    files = pki.write(tmp_path / "pki")
    home = await asyncio.to_thread(
        home_with_definition, tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}", files
    )
    config = home / "config.toml"
    config.write_text(
        config.read_text().replace("[metrics]\n", f'[metrics]\ntoken = "{METRICS_TOKEN}"\n')
    )
    token = (
        await arun_cli(["token", "create", "--user", "admin", "--home", str(home)])
    ).out.strip()
    h = {"Authorization": f"Bearer {token}"}
    with (
        NginxServer(tmp_path / "ok", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ok,
        NginxServer(tmp_path / "bad", cert=files["fullchainB.pem"], key=files["leafB.key"]) as bad,
    ):
        async with console_client(home) as c:
            await sign_in(c)
            good_id = await _new_deployment(c, h, ok.port, "good.test")
            bad_id = await _new_deployment(c, h, bad.port, "bad.test")

            # run now, one deployment, from the console
            resp = await c.post_form(
                "/monitor/run", {"deployment": str(bad_id)}, from_page="/monitor"
            )
            assert (
                resp.status == 303 and resp.headers["Location"] == f"/monitor?deployment={bad_id}"
            )
            page = await (await c.client.get(resp.headers["Location"])).text()
            assert "not the current one" in page and "Check failed" in page

            # run now, everything, on the scheduler's stored task; watch the job through the API
            resp = await c.post_form("/monitor/run", {}, from_page="/monitor")
            assert resp.status == 303
            for _ in range(200):
                jobs = {
                    j["name"]: j
                    for j in await (await c.client.get("/api/v1/monitor/jobs", headers=h)).json()
                }
                if jobs["monitoring"]["runs"] >= 1 and not jobs["monitoring"]["running"]:
                    break
                await asyncio.sleep(0.05)
            assert jobs["monitoring"]["last_result"] == "ok", jobs["monitoring"]
            assert jobs["monitoring"]["progress"]["total"] == 2
            monitor = await (await c.client.get("/monitor")).text()
            assert "Monitor Control" in monitor and "Notification delivery" in monitor

            findings = await (await c.client.get("/findings")).text()
            assert "mismatch" in findings and "bad.test" in findings and "/definitions/" in findings
            api_findings = await (await c.client.get("/api/v1/findings", headers=h)).json()
            assert [f["key"] for f in api_findings] == [f"mismatch:{bad_id}"]
            dash = await (await c.client.get("/dashboard")).text()
            assert "What needs me today" in dash and "bad.test" in dash
            assert "Acquisition Processes" in await (await c.client.get("/acquisitions")).text()
            readiness = await (await c.client.get("/readiness")).text()
            assert "47 days (March 2029)" in readiness and "web" in readiness

            checks = await (
                await c.client.get(f"/api/v1/monitor/checks?deployment={good_id}", headers=h)
            ).json()
            assert checks["items"] and all(x["ok"] for x in checks["items"])
            bad_filter = await c.client.get("/api/v1/monitor/checks?result=maybe", headers=h)
            assert bad_filter.status == 422
            report = await (await c.client.get("/api/v1/reports/readiness", headers=h)).json()
            assert report["definitions"][0]["scenarios"][2]["label"].startswith("47 days")
            acq = await (await c.client.get("/api/v1/acquisitions", headers=h)).json()
            assert acq["ongoing"] == []

            # settings: a bad time and a bad interval are both named, what was typed is kept;
            # a good time moves the schedule
            resp = await c.post_form(
                "/monitor/settings",
                {
                    "time_of_day": "25:99",
                    "interval_hours": "999",
                    "concurrency": "50",
                    "probe_timeout": "5",
                    "expiring_days": "30",
                    "expiring_percent": "33",
                    "unreachable_after": "3",
                    "renewal_concurrency": "4",
                    "digest_time": "06:30",
                    "immediate_critical": "on",
                },
                from_page="/monitor",
            )
            page = await resp.text()
            assert resp.status == 422 and "2 things need fixing" in page
            assert field_error(page, "interval_hours") and 'value="25:99"' in page
            resp = await c.post_form(
                "/monitor/settings",
                {
                    "time_of_day": "01:15",
                    "interval_hours": "24",
                    "concurrency": "50",
                    "probe_timeout": "5",
                    "expiring_days": "30",
                    "expiring_percent": "33",
                    "unreachable_after": "3",
                    "renewal_concurrency": "4",
                    "digest_time": "06:30",
                    "immediate_critical": "on",
                },
                from_page="/monitor",
            )
            assert resp.status == 303 and resp.headers["Location"] == "/monitor"
            jobs = {
                j["name"]: j
                for j in await (await c.client.get("/api/v1/monitor/jobs", headers=h)).json()
            }
            assert jobs["monitoring"]["next_run_at"][11:16] == "01:15"
            assert jobs["digest"]["next_run_at"][11:16] == "06:30"

            # webhooks: added in the console (secret once), listed without their path, removed by API
            resp = await c.post_form(
                "/notifications/webhooks",
                {
                    "url": "https://chat.example.test/hooks/abc/secret-part",
                    "event_finding.opened": "on",
                },
                from_page="/notifications",
                allow_redirects=True,
            )
            html = await resp.text()
            assert re.search(r'<code class="secret">[A-Za-z0-9_-]{40,}</code>', html)
            hooks = await (await c.client.get("/api/v1/webhooks", headers=h)).json()
            assert hooks[0]["url"] == "https://chat.example.test/…" and "secret" not in hooks[0]
            assert hooks[0]["events"] == ["finding.opened"]
            resp = await c.client.delete(f"/api/v1/webhooks/{hooks[0]['id']}", headers=h)
            assert resp.status == 204
            added = await c.client.post(
                "/api/v1/webhooks", json={"url": "ftp://x.test/"}, headers=h
            )
            assert added.status == 422
            outbox = await (await c.client.get("/api/v1/outbox", headers=h)).json()
            assert outbox["items"] == []  # no administrator e-mail and no webhook at the time
            assert "Outbox" in await (await c.client.get("/notifications")).text()

            # /metrics: its own token, or an API token or session; nothing without
            tls = ssl.create_default_context(cafile=str(home / "ca" / "ca.pem"))
            tls.check_hostname = False
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as anon:
                url = str(c.client.make_url("/metrics"))
                async with anon.get(url) as refused:
                    assert refused.status == 401
                wrong = {"Authorization": "Bearer not-the-token"}
                async with anon.get(url, headers=wrong) as refused:
                    assert refused.status == 401
            resp = await c.client.get(
                "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            assert resp.status == 200 and resp.headers["Content-Type"].startswith(
                "text/plain; version=0.0.4"
            )
            text = await resp.text()
            assert re.search(
                r'certmgr_certificate_days_to_expiry\{definition="web",[^}]*\} (29|30)(\.\d+)?\n',
                text,
            )
            assert f'certmgr_deployment_check_ok{{deployment_id="{bad_id}",' in text
            assert re.search(
                rf'certmgr_deployment_check_ok\{{deployment_id="{good_id}",[^}}]*\}} 1\n', text
            )
            assert 'certmgr_job_runs_total{job="monitoring"} 1' in text
            assert re.search(
                r"certmgr_certificate_expiry_timestamp_seconds\{[^}]*\} 1\d{9}\.?\d*\n", text
            )
            assert 'certmgr_findings_open{kind="mismatch",severity="critical"} 1' in text
            assert (await c.client.get("/metrics", headers=h)).status == 200

    # the CLI reads the same database
    out = await arun_cli(["monitor", "findings", "--home", str(home), "--json"])
    assert out.code == 0 and [f["kind"] for f in out.json()] == ["mismatch"]
    res = await arun_cli(["report", "readiness", "--home", str(home), "--json"])
    assert res.code == 0 and res.json()["modes"]["manual"] == 1  # web: vendor, by hand
    res = await arun_cli(["monitor", "jobs", "--home", str(home)])
    assert res.code == 0 and "monitoring" in res.out
    res = await arun_cli(["monitor", "run", "--deployment", "999999", "--home", str(home)])
    assert res.code == 3
