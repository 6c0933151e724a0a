"""Issue 14 items 1-3: what the console says is true (real app over HTTPS, SQLite and PostgreSQL).

Expired and not-yet-valid certificates are flagged from the import preview on, judged at once
(findings without waiting for a scheduled run), never shown as a green "current", and the
dashboard names the problem once; notifications that cannot go out are said to be failing; an
unreachable server is "unreachable" and nothing else on every screen, in the CLI and in e-mail.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import re
from pathlib import Path

import aiohttp

from certmgr.controller.db.engine import Database
from certmgr.controller.services.monitoring.views import check_history
from tests.factories.console import Console, console_client, sign_in
from tests.factories.homes import amake_home, arun_cli
from tests.factories.pki import make_leaf, pem_bytes
from tests.factories.servers import NginxServer

NOW = dt.datetime.now(dt.UTC)


async def _upload(c: Console, files: dict[str, tuple[str, bytes]]) -> str:
    token = await c.csrf("/import")
    form = aiohttp.FormData()
    form.add_field("csrf", token)  # the CSRF token is the multipart form's first part
    for name, (filename, data) in files.items():
        form.add_field(name, data, filename=filename, content_type="application/octet-stream")
    resp = await c.client.post("/import", data=form, allow_redirects=False)
    text = await resp.text()
    assert resp.status == 200, text
    return text


async def _import(c: Console, cn: str, nb: dt.datetime, na: dt.datetime) -> tuple[str, str]:
    """Preview then save a self-signed certificate; returns (preview, definition page)."""
    key, cert = make_leaf(None, None, cn, [cn], not_before=nb, not_after=na)
    preview = await _upload(c, {"file": (f"{cn}.pem", pem_bytes(cert, key))})
    token = re.search(r'name="token" value="([^"]+)"', preview)
    assert token, preview
    resp = await c.post_form("/import/confirm", {"token": token.group(1)}, from_page="/dashboard")
    assert resp.status == 303
    page = await (await c.client.get(resp.headers["Location"])).text()
    return htmllib.unescape(preview), page


def _section(page: str, ident: str) -> str:
    m = re.search(rf'<section[^>]*id="{ident}".*?</section>', page, re.S)
    assert m, f"no section #{ident}"
    return m.group(0)


async def test_expired_and_not_yet_valid_are_flagged_and_judged_at_once(
    tmp_path: Path, database_url: str
) -> None:
    home = await amake_home(tmp_path, database_url)
    expired_nb, expired_na = NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=10)
    future_nb, future_na = NOW + dt.timedelta(days=10), NOW + dt.timedelta(days=100)
    async with console_client(home) as c:
        await sign_in(c)
        dash = await (await c.client.get("/dashboard")).text()
        # no mail server, no admin address: notifications are failing, not "went out"
        assert "every notification went out" not in dash
        assert "notifications failing" in dash and "no mail server is set" in dash
        assert "no administrator e-mail address is set" in dash
        assert 'href="/settings"' in _section(dash, "today")

        preview, page = await _import(c, "old.example.test", expired_nb, expired_na)
        assert f"expired on {expired_na:%Y-%m-%d}" in preview
        assert f"valid from {expired_nb:%Y-%m-%d} to {expired_na:%Y-%m-%d}" in preview
        # the definition page: never a green "current" for an expired current certificate
        assert f"current, expired {expired_na:%Y-%m-%d}" in page
        assert '<span class="badge ok">current</span>' not in page
        # findings at once, not at the next scheduled run
        findings = await (await c.client.get("/findings")).text()
        assert "Nothing needs attention" not in findings
        assert "<td>Expired</td>" in findings and "<td>expired</td>" not in findings
        assert f"the current certificate of old.example.test expired on {expired_na:%Y-%m-%d}" in (
            findings
        )
        listing = await (await c.client.get("/definitions")).text()
        assert re.search(r'badge bad">expired \d+ d ago', listing)
        certs = await (await c.client.get("/certificates")).text()
        assert f'badge bad">expired {expired_na:%Y-%m-%d}' in certs

        preview, page = await _import(c, "early.example.test", future_nb, future_na)
        assert "not valid yet" in preview and f"valid from {future_nb:%Y-%m-%d}" in preview
        assert f"current, not valid before {future_nb:%Y-%m-%d}" in page
        assert '<span class="badge ok">current</span>' not in page
        listing = await (await c.client.get("/definitions")).text()
        assert f"not valid before {future_nb:%Y-%m-%d}" in listing
        findings = await (await c.client.get("/findings")).text()
        assert "early.example.test is not valid before" in findings
        early = await (await c.client.get("/definitions?expiry=not-yet-valid")).text()
        assert "early.example.test" in early and "old.example.test" not in early
        valid = await (await c.client.get("/definitions?expiry=valid")).text()
        assert "early.example.test" not in valid
        dash = await (await c.client.get("/dashboard")).text()
        assert re.search(r"<b>1</b> not valid yet", dash)
        # the new home's own console certificate is the one valid certificate
        assert re.search(r"<b>1</b> valid", dash), re.findall(r"<b>\d+</b>[^<]*", dash)

        # the dashboard names each problem once (the expiry, with its next step on that line)
        today = _section(await (await c.client.get("/dashboard")).text(), "today")
        assert today.count("old.example.test") == 1, today
        assert "start the renewal" in today or "renewal job will start" in today
        # the critical findings could not be e-mailed: said, not hidden
        assert "not e-mailed" in today


async def test_unreachable_is_unreachable_everywhere(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    key, cert = make_leaf(None, None, "web.example.test", ["web.example.test"])
    pem = tmp_path / "web.pem"
    pem.write_bytes(pem_bytes(cert, key))
    res = await arun_cli(["import", "--home", str(home), str(pem), "--name", "web"])
    assert res.code == 0, res.err
    res = await arun_cli(
        [
            "deployment",
            "new",
            "--home",
            str(home),
            "web",
            "--server",
            "srv1",
            "--software",
            "nginx",
            "--delivery",
            "conventional",
            "--check",
            "nothing-here.invalid:443",
            "--json",
        ]
    )
    assert res.code == 0, res.err
    dep_id = json.loads(res.out)["id"]
    # the CLI: text and JSON carry no verdict on a certificate never received
    res = await arun_cli(["deployment", "check", "--home", str(home), str(dep_id), "--json"])
    data = json.loads(res.out)
    assert res.code != 0 and data["outcome"] == "unreachable"
    for verdict in ("matches_current", "chain_complete", "chain_in_order", "hostname_matches"):
        assert data[verdict] is None, verdict
    res = await arun_cli(["deployment", "check", "--home", str(home), str(dep_id)])
    assert f"deploy check #{data['check_id'] + 1}: unreachable" in res.out
    for word in ("chain", "hostname", "matches", "served SHA-256"):
        assert word not in res.out, res.out
    async with console_client(home) as c:
        await sign_in(c)
        url = f"/deployments/{dep_id}"
        resp = await c.post_form(url + "/check", {}, from_page=url)
        assert resp.status == 303
        page = await (await c.client.get(url)).text()
        check = _section(page, "check")
        assert '<span class="badge none">unreachable</span>' in check
        for verdict in ("Chain", "Host name", "NOT served", "incomplete", "does not match"):
            assert verdict not in check, verdict
        assert "Check unreachable" in page
        # the history says so too, and one unreachable check does not fail the deployment
        assert "check failed" not in page and "check-failed" not in page
        assert 'badge bad">failed<' not in page
        listing = await (await c.client.get("/deployments")).text()
        assert '<span class="badge none">unreachable</span>' in listing
        monitor = await (await c.client.get(f"/monitor?deployment={dep_id}")).text()
        assert '<span class="badge none">unreachable</span>' in monitor
        assert 'badge bad">failed<' not in monitor
        # the filters use the same words: an unreachable check is not among the failed ones
        only = f"/monitor?deployment={dep_id}&result="
        assert 'badge none">unreachable<' not in await (await c.client.get(only + "failed")).text()
        assert 'badge none">unreachable<' in await (await c.client.get(only + "unreachable")).text()
    # the API's check history: no verdicts on a certificate that was never served
    db = Database(database_url)
    try:
        history = await check_history(db, deployment_id=dep_id)
        rows = [r.to_json() for r in history.items]
    finally:
        await db.dispose()
    assert rows and all(r["outcome"] == "unreachable" for r in rows)
    assert all(r["chain_complete"] is None and r["matches_current"] is None for r in rows)


async def test_confirmed_monitoring_only_deployment_holds_the_current_certificate(
    tmp_path: Path, database_url: str
) -> None:
    home = await amake_home(tmp_path, database_url)
    key, cert = make_leaf(None, None, "localhost", ["localhost", "127.0.0.1"])
    pem, key_pem = tmp_path / "site.pem", tmp_path / "site.key"
    pem.write_bytes(pem_bytes(cert))
    key_pem.write_bytes(pem_bytes(key))
    res = await arun_cli(["import", "--home", str(home), str(pem), "--name", "site"])
    assert res.code == 0, res.err

    async def new_deployment(server: str, check: str) -> int:
        res = await arun_cli(
            ["deployment", "new", "--home", str(home), "site", "--server", server]
            + ["--software", "nginx", "--delivery", "conventional", "--check", check, "--json"]
        )
        assert res.code == 0, res.err
        return int(json.loads(res.out)["id"])

    async with NginxServer(tmp_path / "nginx", cert=pem, key=key_pem) as nginx:
        checked = await new_deployment("web1", f"127.0.0.1:{nginx.port}")
        # confirmed by a passing check of the imported (current) certificate
        res = await arun_cli(
            ["deployment", "check", "--home", str(home), str(checked), "--done", "--json"]
        )
        assert res.code == 0, res.out + res.err
    by_hand = await new_deployment("web2", "nothing-here.invalid:443")
    res = await arun_cli(["deployment", "done", "--home", str(home), str(by_hand), "--manual"])
    assert res.code == 0, res.err
    async with console_client(home) as c:
        await sign_in(c)
        listing = await (await c.client.get("/definitions")).text()
        assert "need the new certificate" not in listing
        assert "2 confirmed" in listing
        deps = await (await c.client.get("/deployments")).text()
        assert "needs new certificate" not in deps
