"""Finding 10: ``/metrics`` answers only with the metrics token (from Settings) or to an admin."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.factories.console import console_client, sign_in
from tests.factories.homes import all_database_bytes, arun_cli, make_home


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> Path:
    return make_home(tmp_path, database_url)


async def test_metrics_requires_token(home: Path, tmp_path: Path) -> None:
    from certmgr.controller.settings import load_settings

    # a home made by init, with no [metrics] token in config.toml
    assert load_settings(home).metrics_token == ""
    async with console_client(home) as c:
        resp = await c.client.get("/metrics")
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert "certmgr_" not in await resp.text()
        for wrong in ("cmm_wrong", "", "cmt_nonsense"):
            resp = await c.client.get("/metrics", headers={"Authorization": f"Bearer {wrong}"})
            assert resp.status == 401

        # the token generated at init is shown to admins in the settings
        assert (await sign_in(c)).status == 303
        html = await (await c.client.get("/settings")).text()
        m = re.search(r'<code class="secret">(cmm_[A-Za-z0-9_-]+)</code>', html)
        assert m, "metrics token not shown in the settings"
        token = m.group(1)
        c.client.session.cookie_jar.clear()
        resp = await c.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 200 and "certmgr_definitions" in await resp.text()

        # regenerating it retires the old one
        assert (await sign_in(c)).status == 303
        resp = await c.post_form("/settings/metrics-token", {}, from_page="/settings")
        assert resp.status == 303
        html = await (await c.client.get("/settings")).text()
        m = re.search(r'<code class="secret">(cmm_[A-Za-z0-9_-]+)</code>', html)
        assert m and m.group(1) != token
        c.client.session.cookie_jar.clear()
        old = await c.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert old.status == 401
        new = await c.client.get("/metrics", headers={"Authorization": f"Bearer {m.group(1)}"})
        assert new.status == 200
    # stored sealed, never as text
    assert m.group(1).encode() not in (
        await asyncio.to_thread(all_database_bytes, load_settings(home).database_url)
    )

    # an admin's API token works too; a plain user's does not
    pw = tmp_path / "pw"
    pw.write_text("user password 12345\n")
    add = ["user", "add", "bob", "--role", "user", "--password-file", str(pw), "--home", str(home)]
    assert (await arun_cli(add)).code == 0
    admin_token = (
        await arun_cli(["token", "create", "--user", "admin", "--home", str(home)])
    ).out.strip()
    bob_token = (
        await arun_cli(["token", "create", "--user", "bob", "--home", str(home)])
    ).out.strip()
    async with console_client(home) as c:
        ok = await c.client.get("/metrics", headers={"Authorization": f"Bearer {admin_token}"})
        assert ok.status == 200
        no = await c.client.get("/metrics", headers={"Authorization": f"Bearer {bob_token}"})
        assert no.status == 403
