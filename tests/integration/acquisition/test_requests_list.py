"""All requests: the /requests screen, the API and ``certmgr request list`` filtered by state, issuer and age, paged."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from certmgr.shared.clock import FakeClock
from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli


async def _ok(*args: str) -> object:
    res = await arun_cli(list(args))
    assert res.code == 0, res.out + res.err
    return res.json() if "--json" in args else res.out


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<td><a href="/requests/(\d+)">', html)]


async def test_requests_list_filters(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ("--home", str(home))
    await _ok("definition", "new", *h, "--name", "intranet", "--cn", "intranet.example.test")
    await _ok(
        "definition", "new", *h, "--name", "shop", "--cn", "shop.example.test", "--issuer", "vendor"
    )
    done = await _ok("request", "new", "intranet", "--wait", "--json", *h)
    cancelled = await _ok("request", "new", "shop", "--json", *h)
    await _ok("request", "cancel", str(cancelled["id"]), *h)  # type: ignore[index]
    waiting = await _ok("request", "new", "shop", "--json", *h)
    ids = {"done": done["id"], "cancelled": cancelled["id"], "waiting": waiting["id"]}  # type: ignore[index]

    async def listed(*flags: str) -> list[int]:
        rows = await _ok("request", "list", "--json", *h, *flags)
        return [r["id"] for r in rows]  # type: ignore[attr-defined]

    assert await listed("--state", "done") == [ids["done"]]
    assert await listed("--state", "open") == [ids["waiting"]]
    assert await listed("--issuer", "vendor") == [ids["waiting"], ids["cancelled"]]
    assert len(await listed("--age", "day")) == 3
    assert await listed("--age", "older") == []
    bad = await arun_cli(["request", "list", "--state", "bogus", *h])
    assert bad.code == 2 and "state must be one of" in bad.err

    token = (await arun_cli(["token", "create", "--user", "admin", *h])).out.strip()
    auth = {"Authorization": f"Bearer {token}"}
    later = FakeClock(dt.datetime.now(dt.UTC) + dt.timedelta(days=40))
    async with console_client(home, clock=later) as c:
        api = c.client
        r = await api.get("/api/v1/requests?state=cancelled", headers=auth)
        assert [x["id"] for x in await r.json()] == [ids["cancelled"]]
        r = await api.get("/api/v1/requests?limit=2&page=2", headers=auth)
        assert [x["id"] for x in await r.json()] == [ids["done"]]
        r = await api.get("/api/v1/requests?issuer=bogus", headers=auth)
        assert r.status == 422
        await sign_in(c)
        page = await (await api.get("/requests")).text()
        assert _ids(page) == [ids["waiting"], ids["cancelled"], ids["done"]]
        assert "intranet" in page and "shop" in page
        page = await (await api.get("/requests?issuer=vendor&state=cancelled")).text()
        assert _ids(page) == [ids["cancelled"]]
        # forty days on, every request is older than a month
        assert len(_ids(await (await api.get("/requests?age=older")).text())) == 3
        page = await (await api.get("/requests?age=week")).text()
        assert _ids(page) == [] and "No requests match" in page
        r = await api.get("/requests?state=bogus")
        assert r.status == 422 and "state must be one of" in await r.text()
