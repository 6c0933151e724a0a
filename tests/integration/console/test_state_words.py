"""Issue 14: every state on the rendered pages is in words, never a code such as ``key-and-csr``
(real app over HTTPS; SQLite and PostgreSQL)."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli

CODES = (
    "key-and-csr",
    "install-requested",
    "check-failed",
    "current-switched",
    "manually-confirmed",
)


def visible(page: str) -> str:
    """The text a person reads: no tags, attributes, scripts or the icon sprite."""
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


async def test_states_are_words_on_every_list(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    h = ["--home", str(home)]
    res = await arun_cli(
        ["definition", "new", *h, "--name", "shop", "--cn", "shop.example.test"]
        + ["--issuer", "vendor", "--json"]
    )
    assert res.code == 0, res.err
    shop = json.loads(res.out)["id"]
    made = await arun_cli(["deployment", "new", "shop", "--server", "s.example.test", "--json", *h])
    assert made.code == 0, made.err
    dep = json.loads(made.out)["id"]
    async with console_client(home) as c:
        await sign_in(c)
        resp = await c.post_form(f"/definitions/{shop}/requests", {}, from_page="/dashboard")
        assert resp.status == 303
        req = resp.headers["Location"]
        pages = {
            p: visible(await (await c.client.get(p)).text())
            for p in (
                "/requests",
                req,
                f"/definitions/{shop}",
                "/definitions",
                "/acquisitions",
                "/deployments",
                f"/deployments/{dep}",
                "/dashboard",
            )
        }
    for path, text in pages.items():
        for code in CODES:
            assert not re.search(rf"(?<![\w-]){code}(?![\w-])", text), (path, code)
    # the words stand where the codes stood
    assert "waiting to be ordered" in pages["/requests"]
    assert "waiting to be ordered" in pages[req]
    assert "waiting to be ordered" in pages["/definitions"]
    assert "not deployed yet" in pages["/deployments"]
    assert "not deployed yet" in pages[f"/deployments/{dep}"]
    assert "not deployed yet" in pages[f"/definitions/{shop}"]
    # the CLI's text says the same words
    shown = await arun_cli(["deployment", "show", str(dep), *h])
    assert shown.code == 0 and "not deployed yet" in shown.out and "draft" not in shown.out
    req_id = req.rsplit("/", 1)[1]
    shown = await arun_cli(["request", "show", req_id, *h])
    assert "waiting to be ordered" in shown.out and "key-and-csr" not in shown.out.split("\n")[0]
