"""The Backups screen and API (admins): each backup with its size and result, the schedule, a failure's error."""

from __future__ import annotations

from pathlib import Path

from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import cli_actor
from certmgr.controller.services.admin.backup import record_run
from certmgr.controller.settings import load_settings
from certmgr.shared.clock import SystemClock
from tests.factories.backups import passphrase_file
from tests.factories.console import console_client, sign_in
from tests.factories.homes import ADMIN_PASSWORD, amake_home, arun_cli


async def test_backups_screen_lists_size_and_result(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ["--home", str(home)]
    pw = passphrase_file(tmp_path)
    res = await arun_cli(["backup", "--passphrase-file", str(pw), *h])
    assert res.code == 0, res.err
    (made,) = (await arun_cli(["backup", "list", "--json", *h])).json()
    settings = load_settings(home)
    db = Database(settings.database_url)
    try:
        await record_run(
            db, cli_actor(), SystemClock(), started=SystemClock().now(), trigger="scheduled",
            kind="sqlite", path=settings.backups_dir / "x.cmbk", error="pg_dump failed: no such database",
        )  # fmt: skip
    finally:
        await db.dispose()
    pwfile = tmp_path / "op-pw"
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    assert (await arun_cli(["user", "add", "operator", "--role", "user", "--password-file", str(pwfile), *h])).code == 0  # fmt: skip
    async with console_client(home) as c:
        await sign_in(c)
        resp = await c.client.get("/backups")
        html = await resp.text()
        assert resp.status == 200, html
        assert Path(made["path"]).name in html
        assert f"{made['size'] / 1024:.1f} KiB" in html
        assert "failed" in html and "pg_dump failed: no such database" in html
        assert "Scheduled backups are not turned on" in html
        assert 'href="/backups"' in await (await c.client.get("/dashboard")).text()
    token = (await arun_cli(["token", "create", "--user", "admin", *h])).out.strip()
    async with console_client(home) as c:  # the same list over the API
        resp = await c.client.get("/api/v1/backups", headers={"Authorization": f"Bearer {token}"})
        body = await resp.json()
        assert resp.status == 200, body
        assert [(b["trigger"], b["result"]) for b in body] == [
            ("scheduled", "failed"),
            ("manual", "ok"),
        ]
        assert body[1]["size"] == made["size"] and body[1]["file"] == Path(made["path"]).name
    async with console_client(home) as c:  # a user (not an admin) neither sees nor opens it
        await sign_in(c, "operator")
        assert (await c.client.get("/backups", allow_redirects=False)).status in (403, 303)
