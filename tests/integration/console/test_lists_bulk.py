"""Issue 14 items 10 and 13: big lists filter and page on the server (query in the URL, bounded
page size); ticked rows take bulk actions that run as tasks whose page shows their progress and
result. Real app over HTTPS, private CA; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.factories.console import console_client, sign_in, wait_task
from tests.factories.homes import amake_home, arun_cli


def _rows(html: str, table: str) -> list[str]:
    body = re.search(rf'<table class="list" id="{table}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"no table #{table}"
    return [r for r in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S) if "muted" not in r]


async def test_lists_filter_on_the_server_and_bulk_actions_run_as_tasks(
    tmp_path: Path, database_url: str
) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ["--home", str(home)]
    defs: dict[str, int] = {}
    for name in ("alpha", "beta", "gamma"):
        res = await arun_cli(
            ["definition", "new", *h, "--name", name, "--cn", f"{name}.example.test", "--json"]
        )
        assert res.code == 0, res.err
        defs[name] = json.loads(res.out)["id"]
    res = await arun_cli(["request", "new", *h, "--wait", "alpha"])
    assert res.code == 0, res.err
    deps = []
    for i in range(12):
        res = await arun_cli(
            ["deployment", "new", *h, "--server", f"srv{i:02d}.example.test", "--json"]
            + ["--check", "127.0.0.1:9", "alpha" if i % 2 else "beta"]
        )
        assert res.code == 0, res.err
        deps.append(json.loads(res.out)["id"])
    async with console_client(home) as c:
        await sign_in(c)
        # deployments: text, state and view filters on the server, paged, query in the URL
        page = await (await c.client.get("/deployments?q=srv03")).text()
        assert [r for r in _rows(page, "deployments") if "srv03.example.test" in r]
        assert len(_rows(page, "deployments")) == 1
        page = await (await c.client.get("/deployments?q=beta&per_page=10")).text()
        assert len(_rows(page, "deployments")) == 6
        page = await (await c.client.get("/deployments?per_page=10")).text()
        assert len(_rows(page, "deployments")) == 10 and "page 1 of 2" in page
        assert "per_page=10" in re.search(r'href="([^"]*page=2[^"]*)"', page).group(1)  # type: ignore[union-attr]
        page = await (await c.client.get("/deployments?per_page=100000")).text()
        assert "12 items" in page  # bounded to 200 a page
        page = await (await c.client.get("/deployments?state=confirmed")).text()
        assert _rows(page, "deployments") == []
        page = await (await c.client.get("/deployments?view=outdated")).text()
        assert len(_rows(page, "deployments")) == 6  # alpha has a certificate none of them has
        assert "needs new certificate" in page
        # requests and findings: text search on the server
        page = await (await c.client.get("/requests?q=alpha")).text()
        assert len(_rows(page, "requests")) == 1
        page = await (await c.client.get("/requests?q=nothing-like-it")).text()
        assert _rows(page, "requests") == []
        page = await (await c.client.get("/findings?q=nothing-like-it&state=all")).text()
        assert _rows(page, "findings") == []
        # certificates: by validity and text on the server
        page = await (await c.client.get("/certificates?validity=valid&q=alpha")).text()
        assert "alpha.example.test" in page
        for validity in ("expired", "expiring", "not-yet-valid"):
            page = await (await c.client.get(f"/certificates?validity={validity}&q=alpha")).text()
            assert "alpha.example.test" not in page, validity

        # bulk check: a task; its page polls, then shows a line per deployment
        picked = [str(d) for d in deps[1:6:2]]  # alpha has a certificate to compare against
        token = await c.csrf("/deployments")
        resp = await c.client.post(
            "/deployments/bulk",
            data=[("csrf", token), ("action", "check"), ("back", "?q=srv")]
            + [("deployment", d) for d in picked],
            allow_redirects=False,
        )
        assert resp.status == 303
        task = resp.headers["Location"]
        running = await (await c.client.get(task)).text()
        assert "Check 3 deployment(s)" in running
        status = await wait_task(c, task)
        assert status["state"] == "done" and status["handled"] == 3, status
        done = await (await c.client.get(task)).text()
        for d in picked:
            assert f"Deployment #{d}: unreachable" in done
        assert 'href="/deployments?q=srv"' in done  # back to the list it came from
        listed = await (await c.client.get("/tasks")).text()
        assert "Check 3 deployment(s)" in listed
        # nothing ticked: said so, nothing run
        resp = await c.post_form("/deployments/bulk", {"action": "check"}, from_page="/deployments")
        assert resp.status == 303 and resp.headers["Location"] == "/deployments"

        # bulk renew of definitions: each gets a request (private CA: issued at once)
        token = await c.csrf("/definitions")
        resp = await c.client.post(
            "/definitions/bulk",
            data=[("csrf", token), ("action", "renew")]
            + [("definition", str(defs[n])) for n in ("beta", "gamma")],
            allow_redirects=False,
        )
        assert resp.status == 303
        status = await wait_task(c, resp.headers["Location"])
        assert status["state"] == "done" and status["handled"] == 2
        done = await (await c.client.get(resp.headers["Location"])).text()
        assert done.count("is completed.") == 2
        listing = await (await c.client.get("/definitions")).text()
        assert listing.count('<span class="badge ok">completed</span>') == 3

        # bulk clone with a suffix and a domain moved, as a task
        token = await c.csrf("/definitions")
        resp = await c.client.post(
            "/definitions/bulk",
            data=[
                ("csrf", token),
                ("action", "clone"),
                ("suffix", " (test)"),
                ("domain_map", "example.test=test.example.test"),
                ("definition", str(defs["gamma"])),
            ],
            allow_redirects=False,
        )
        assert resp.status == 303
        status = await wait_task(c, resp.headers["Location"])
        assert status["state"] == "done", status
        page = await (await c.client.get("/definitions?q=gamma")).text()
        assert "gamma (test)" in page and "gamma.test.example.test" in page
