"""Issue 12, finding 6: a manual-check code is bound to a controller-issued, single-use challenge.

The check key is shown to admins only; each key belongs to one challenge for one deployment that
expires and works once; a newer key retires the older; who submitted the code is recorded; a
code made with the old per-deployment key (which every user could read) is refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import AuditEvent
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import FakeClock
from certmgr.shared.receipt import check_key_text
from tests.factories.console import console_client, sign_in
from tests.factories.homes import arun_cli, home_with_definition, run_cli
from tests.factories.pki import TestPki, make_pki
from tests.factories.servers import NginxServer

USER_PASSWORD = "a user's long password 42"  # noqa: S105 - test credential


@pytest.fixture
def pki() -> TestPki:
    return make_pki(["localhost", "127.0.0.1"])


def _home(tmp_path: Path, database_url: str, files: dict[str, Path]) -> Path:
    home = home_with_definition(tmp_path, database_url, files, with_root=False)
    pw = tmp_path / "user-pw"
    pw.write_text(USER_PASSWORD + "\n")
    res = run_cli(
        ["user", "add", "alice", "--role", "user", "--password-file", str(pw), "--home", str(home)]
    )
    assert res.code == 0, res.err
    return home


def _token(home: Path, user: str) -> dict[str, str]:
    res = run_cli(["token", "create", "--user", user, "--home", str(home)])
    assert res.code == 0, res.err
    return {"Authorization": f"Bearer {res.out.strip()}"}


def _code(port: int, dep: int, key: str) -> str:
    res = run_cli(
        [
            "check",
            f"127.0.0.1:{port}",
            "--sni",
            "localhost",
            "--deployment",
            str(dep),
            "--key",
            key,
        ]
    )
    found = re.search(r"(CMC1-[A-Z0-9-]+)", res.out)
    assert found, res.out + res.err
    return found.group(1)


async def test_manual_check_code_is_challenge_bound(
    tmp_path: Path, database_url: str, pki: TestPki
) -> None:
    files = pki.write(tmp_path / "pki")
    home = await asyncio.to_thread(_home, tmp_path, database_url, files)
    user = await asyncio.to_thread(_token, home, "alice")
    admin = await asyncio.to_thread(_token, home, "admin")
    settings = load_settings(home)
    vault = read_master_key(settings.master_key_path)
    clock = FakeClock(dt.datetime.now(dt.UTC))
    db = Database(settings.database_url)
    async with NginxServer(
        tmp_path / "ngx", cert=files["fullchainA.pem"], key=files["leafA.key"]
    ) as ngx:
        res = await arun_cli(
            [
                "deployment",
                "new",
                "web",
                "--home",
                str(home),
                "--server",
                "localhost",
                "--check",
                f"127.0.0.1:{ngx.port}",
                "--sni",
                "localhost",
                "--no-monitoring",
                "--json",
            ]
        )
        assert res.code == 0, res.err
        dep = int(res.json()["id"])
        submit = f"/api/v1/deployments/{dep}/check-code"
        try:
            async with console_client(home, clock=clock) as c:
                # a user never sees a check key
                assert (await sign_in(c, "alice", USER_PASSWORD)).status == 303
                page = await (await c.client.get(f"/deployments/{dep}")).text()
                assert "CMK1" not in page and "only an admin can issue" in page
                resp = await c.client.post(f"/api/v1/deployments/{dep}/check-key", headers=user)
                assert resp.status == 403

                # the key every user could read before is no key at all now
                legacy = check_key_text(
                    hmac.new(
                        vault.derive("check-codes").reveal(),
                        f"deployment:{dep}".encode(),
                        hashlib.sha256,
                    ).digest()
                )
                resp = await c.client.post(
                    submit,
                    json={"code": (await asyncio.to_thread(_code, ngx.port, dep, legacy))},
                    headers=user,
                )
                assert resp.status in (409, 422), await resp.text()

                # an admin issues one; the code made with it is accepted once, from anyone
                resp = await c.client.post(f"/api/v1/deployments/{dep}/check-key", headers=admin)
                assert resp.status == 201, await resp.text()
                key = (await resp.json())["key"]
                code = await asyncio.to_thread(_code, ngx.port, dep, key)
                resp = await c.client.post(submit, json={"code": code}, headers=user)
                assert resp.status == 200, await resp.text()
                assert (await resp.json())["ok"] is True
                replay = await c.client.post(submit, json={"code": code}, headers=user)
                assert replay.status == 409, await replay.text()
                assert "already recorded" in (await replay.json())["detail"]
                from certmgr.controller.db.models import CheckChallenge

                async with db.reader() as s:
                    used = (await s.execute(select(CheckChallenge))).scalar_one()
                    checks = [
                        e
                        for e in (await s.execute(select(AuditEvent))).scalars()
                        if e.action == "deployment.check" and e.detail.get("source") == "manual"
                    ]
                assert used.used_by == "alice" and used.used_at is not None
                assert used.issued_by == "admin" and used.check_result_id is not None
                assert [(e.actor, e.detail.get("submitted_by")) for e in checks] == [
                    ("alice", "alice")
                ]

                # a newer key retires the older one
                older = (
                    await (
                        await c.client.post(f"/api/v1/deployments/{dep}/check-key", headers=admin)
                    ).json()
                )["key"]
                newer = (
                    await (
                        await c.client.post(f"/api/v1/deployments/{dep}/check-key", headers=admin)
                    ).json()
                )["key"]
                resp = await c.client.post(
                    submit,
                    json={"code": (await asyncio.to_thread(_code, ngx.port, dep, older))},
                    headers=user,
                )
                assert resp.status == 409 and "expired or was replaced" in await resp.text()

                # and every key expires
                late = await asyncio.to_thread(_code, ngx.port, dep, newer)
                clock.advance(dt.timedelta(hours=49))
                resp = await c.client.post(submit, json={"code": late}, headers=user)
                assert resp.status == 409 and "expired" in await resp.text()
        finally:
            await db.dispose()
