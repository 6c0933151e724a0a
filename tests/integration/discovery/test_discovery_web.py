"""Discovery over the REST API and the console, on the real app (SQLite and PostgreSQL) against
nginx on loopback: settings (admins only), a scan started and run by the scheduler's discovery
job with progress, results filtered, bulk import, report, CSV and JSON exports, OpenAPI, metrics.
"""

from __future__ import annotations

import asyncio

# loaded at collection: the first asyncio.to_thread of a test (the db fixture) would import it on the loop
import concurrent.futures.thread  # noqa: F401
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories.console import console_client, sign_in
from tests.factories.discovery import leaf_a_nginx
from tests.factories.homes import amake_home, run_cli
from tests.factories.pki import TestPki, make_pki
from tests.factories.servers import NginxServer
from tests.factories.waiting import async_wait_for


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def nginx(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    with leaf_a_nginx(pki, tmp_path_factory.mktemp("nginx"), "127.0.0.5") as server:
        yield server


def _token(home: Path, user: str = "admin") -> str:
    res = run_cli(["token", "create", "--user", user, "--home", str(home)])
    assert res.code == 0, res.err
    return res.out.strip()


async def test_api_scan_import_report(
    tmp_path: Path, database_url: str, nginx: NginxServer
) -> None:
    home = await amake_home(tmp_path, database_url)
    token = await asyncio.to_thread(_token, home)
    h = {"Authorization": f"Bearer {token}"}
    async with console_client(home) as c:
        api = c.client
        doc = await (await api.get("/api/v1/openapi.json", headers=h)).json()
        assert "/api/v1/discovery/scans" in doc["paths"]
        assert "/api/v1/discovery/scans/{id}/results" in doc["paths"]

        resp = await api.post(
            "/api/v1/discovery/scans", json={"targets": "127.0.0.5", "ports": "443"}, headers=h
        )
        assert resp.status == 422 and (await resp.json())["field"] == "scope"
        resp = await api.put(
            "/api/v1/discovery/settings",
            json={"scope": ["127.0.0.0/29"], "size_limit": 4, "policy": {"min_days_left": 7}},
            headers=h,
        )
        assert resp.status == 200, await resp.text()
        settings = await resp.json()
        assert settings["scope"] == ["127.0.0.0/29"] and settings["policy"]["min_days_left"] == 7
        resp = await api.put(
            "/api/v1/discovery/settings", json={"policy": {"min_rsa_bits": "big"}}, headers=h
        )
        assert resp.status == 422 and "min_rsa_bits" in (await resp.json())["field"]

        resp = await api.post(
            "/api/v1/discovery/scans",
            json={"targets": ["127.0.0.0/30"], "ports": f"{nginx.port},1"},
            headers=h,
        )
        assert resp.status == 422 and (await resp.json())["field"] == "confirm_large"
        resp = await api.post(
            "/api/v1/discovery/scans",
            json={"targets": "127.0.0.5", "ports": str(nginx.port)},
            headers=h,
        )
        assert resp.status == 201, await resp.text()
        scan_id = (await resp.json())["id"]

        async def finished() -> dict[str, Any] | None:
            s: dict[str, Any] = await (
                await api.get(f"/api/v1/discovery/scans/{scan_id}", headers=h)
            ).json()
            return s if s["state"] not in ("queued", "running") else None

        scan = await async_wait_for(finished, timeout=60, what="the scan to finish")
        assert (scan["state"], scan["open_endpoints"], scan["unknown"]) == ("done", 1, 1)

        results = await (
            await api.get(f"/api/v1/discovery/scans/{scan_id}/results?match=unknown", headers=h)
        ).json()
        assert [r["common_name"] for r in results] == ["leaf-A"]
        assert "untrusted" in [v["rule"] for v in results[0]["violations"]]
        none = await (
            await api.get(f"/api/v1/discovery/scans/{scan_id}/results?verdict=ok", headers=h)
        ).json()
        assert none == []
        bad = await api.get(f"/api/v1/discovery/scans/{scan_id}/results?verdict=nice", headers=h)
        assert bad.status == 422

        resp = await api.post(
            "/api/v1/discovery/import", json={"results": [results[0]["id"]]}, headers=h
        )
        assert resp.status == 200, await resp.text()
        (done,) = await resp.json()
        assert done["created_certificate"] and done["created_deployment"]
        dep = await (
            await api.get(f"/api/v1/deployments/{done['deployment_id']}", headers=h)
        ).json()
        assert dep["status"] == "confirmed"

        report = await (
            await api.get(f"/api/v1/discovery/scans/{scan_id}/report", headers=h)
        ).json()
        assert report["by_rule"]["untrusted"] == 1
        text = await (
            await api.get(f"/api/v1/discovery/scans/{scan_id}/results.csv", headers=h)
        ).text()
        assert next(csv.DictReader(io.StringIO(text)))["sha256"] == results[0]["sha256"]

        metrics = await (await api.get("/metrics", headers=h)).text()
        assert re.search(r'certmgr_discovery_scans_total\{state="done"\} 1', metrics)
        assert re.search(
            r"certmgr_discovery_last_scan_endpoints\{verdict=\"critical\"\} 1", metrics
        )

        # a plain user may scan and import, not change the scope
        user_token = await asyncio.to_thread(_user_token, home)
        resp = await api.put(
            "/api/v1/discovery/settings",
            json={"scope": ["0.0.0.0/0"]},
            headers={"Authorization": f"Bearer {user_token}"},
        )
        assert resp.status == 403


def _user_token(home: Path) -> str:
    pw = home.parent / "carol-pw"
    pw.write_text("carol's long passphrase 1\n")
    res = run_cli(
        ["user", "add", "carol", "--role", "user", "--password-file", str(pw), "--home", str(home)]
    )
    assert res.code == 0, res.err
    return _token(home, "carol")


async def test_console_scan_progress_filters_bulk_import(
    tmp_path: Path, database_url: str, nginx: NginxServer
) -> None:
    home = await amake_home(tmp_path, database_url)
    async with console_client(home) as c:
        await sign_in(c)
        page = await (await c.client.get("/discovery")).text()
        assert "No scan scope is set" in page
        resp = await c.post_form(
            "/discovery/settings",
            {
                "scope": "127.0.0.0/29",
                "size_limit": "2",
                "schedule_time": "02:00",
                "policy": "",
            },
            from_page="/discovery",
        )
        assert resp.status == 303, await resp.text()
        resp = await c.post_form(
            "/discovery/scans",
            {"targets": "127.0.0.5\n127.0.0.6", "ports": f"{nginx.port},1"},
            from_page="/discovery",
        )
        assert resp.status == 422
        html = await resp.text()
        assert "confirm the large scan" in html and "127.0.0.6" in html  # input kept
        resp = await c.post_form(
            "/discovery/scans",
            {"targets": "127.0.0.5", "ports": str(nginx.port)},
            from_page="/discovery",
        )
        assert resp.status == 303
        location = resp.headers["Location"]
        scan_id = int(location.rsplit("/", 1)[1])

        async def done() -> dict[str, Any] | None:
            p: dict[str, Any] = await (
                await c.client.get(f"/discovery/scans/{scan_id}/progress.json")
            ).json()
            return p if p["done"] else None

        progress = await async_wait_for(done, timeout=60, what="the scan to finish")
        assert "1 TLS endpoints" in progress["message"]
        page = await (await c.client.get(location)).text()
        assert "leaf-A" in page and "untrusted" in page and 'name="result"' in page
        filtered = await (await c.client.get(f"{location}?verdict=ok")).text()
        assert "leaf-A" not in filtered
        result_id = re.search(r'name="result" value="(\d+)"', page)
        assert result_id
        resp = await c.post_form(
            "/discovery/import",
            {"result": result_id.group(1), "back": location},
            from_page=location,
        )
        assert resp.status == 303
        page = await (await c.client.get(resp.headers["Location"])).text()
        assert "1 new certificate(s), 1 new monitoring-only" in page
        report = await (await c.client.get(f"{location}/report")).text()
        assert "Certificate discovery report" in report and "untrusted" in report
        exported = await (await c.client.get(f"{location}/export.json")).json()
        assert exported["results"][0]["match"] == "managed"  # imported just now
        assert (await c.client.get(f"{location}/export.csv")).status == 200
        assert (await c.client.get("/discovery/scans/999999")).status == 404
