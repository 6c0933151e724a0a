"""Finding 14: API tokens expire (90 days unless set otherwise), show their last use, and a
password change revokes them unless asked not to."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from certmgr.shared.clock import FakeClock
from tests.factories.console import NEW_PASSWORD, console_client
from tests.factories.homes import ADMIN_PASSWORD, arun_cli, make_home, run_cli


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> Path:
    return make_home(tmp_path, database_url)


def _token(home: Path, *extra: str) -> dict[str, object]:
    res = run_cli(["token", "create", "--user", "admin", "--json", "--home", str(home), *extra])
    assert res.code == 0, res.err
    out: dict[str, object] = res.json()
    return out


async def test_api_token_expiry(home: Path) -> None:
    made = dt.datetime.now(dt.UTC)
    default = await asyncio.to_thread(_token, home)
    forever = await asyncio.to_thread(_token, home, "--days", "0", "--name", "forever")
    short = await asyncio.to_thread(_token, home, "--days", "1", "--name", "short")
    assert isinstance(default["expires_at"], str)
    expires = dt.datetime.fromisoformat(default["expires_at"])
    assert abs(expires - (made + dt.timedelta(days=90))) < dt.timedelta(minutes=5)
    assert forever["expires_at"] is None

    clock = FakeClock()
    async with console_client(home, clock=clock) as c:
        h = {"Authorization": f"Bearer {default['token']}"}
        assert (await c.client.get("/api/v1/me", headers=h)).status == 200
        listed = {
            t["name"]: t for t in await (await c.client.get("/api/v1/tokens", headers=h)).json()
        }
        assert listed["cli"]["last_used_at"] is not None and listed["short"]["last_used_at"] is None
        assert listed["forever"]["expires_at"] is None and not listed["short"]["expired"]

        # two days later the one-day token is refused with a clear problem
        clock.advance(dt.timedelta(days=2))
        resp = await c.client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {short['token']}"}
        )
        assert resp.status == 401 and resp.content_type == "application/problem+json"
        problem = await resp.json()
        assert "expired" in problem["detail"]
        # the default one still works, until its 90 days are over
        assert (await c.client.get("/api/v1/me", headers=h)).status == 200
        clock.advance(dt.timedelta(days=89))
        assert (await c.client.get("/api/v1/me", headers=h)).status == 401
        f = {"Authorization": f"Bearer {forever['token']}"}
        assert (await c.client.get("/api/v1/me", headers=f)).status == 200

    listed_cli = (await arun_cli(["token", "list", "--home", str(home)])).out
    assert "never" in listed_cli and "EXPIRES" in listed_cli and "LAST USED" in listed_cli


async def test_password_change_revokes_tokens(home: Path) -> None:
    keep = await asyncio.to_thread(_token, home, "--name", "keep")
    async with console_client(home) as c:
        h = {"Authorization": f"Bearer {keep['token']}"}
        resp = await c.client.post(
            "/api/v1/users/me/password",
            json={
                "current_password": ADMIN_PASSWORD,
                "new_password": NEW_PASSWORD,
                "revoke_tokens": False,
            },
            headers=h,
        )
        assert resp.status == 200 and (await resp.json())["tokens_revoked"] == 0
        assert (await c.client.get("/api/v1/me", headers=h)).status == 200
        # by default a password change revokes every API token of the user
        resp = await c.client.post(
            "/api/v1/users/me/password",
            json={"current_password": NEW_PASSWORD, "new_password": ADMIN_PASSWORD},
            headers=h,
        )
        assert resp.status == 200 and (await resp.json())["tokens_revoked"] >= 1
        resp = await c.client.get("/api/v1/me", headers=h)
        assert resp.status == 401 and "revoked" in (await resp.json())["detail"]
