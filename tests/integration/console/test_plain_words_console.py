"""Issue 14 items 2 and 5 on the rendered pages: words instead of codes, e-mails signed with the
organisation's name, each notification said to be queued or not sendable (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli
from tests.integration.console.test_state_truth import NOW, _import

ORG = "Example Ltd, IT operations"


async def test_words_not_codes_and_signed_mail(tmp_path: Path, database_url: str) -> None:
    home = await amake_home(tmp_path, database_url)
    res = await arun_cli(
        ["definition", "new", "--home", str(home), "--name", "shop", "--cn", "shop.example.test"]
        + ["--issuer", "vendor", "--json"]
    )
    assert res.code == 0, res.err
    shop = json.loads(res.out)["id"]
    async with console_client(home) as c:
        await sign_in(c)
        resp = await c.post_form(
            "/settings/general",
            {"admin_email": "certs@example.test", "organization": ORG, "token_days": "90"},
            from_page="/settings",
        )
        assert resp.status == 303, await resp.text()
        assert ORG in await (await c.client.get("/settings")).text()

        # an expired certificate: its critical finding is e-mailed at once, signed, and the
        # message is said to be queued / not sendable (no mail server), never "sent"
        await _import(
            c, "old.example.test", NOW - dt.timedelta(days=90), NOW - dt.timedelta(days=1)
        )
        audit = await (await c.client.get("/audit")).text()
        assert "<td>Certificate imported" in audit and "<td>certificate.import" not in audit
        emails = await (await c.client.get("/emails")).text()
        assert "CRITICAL" in emails and "queued" in emails
        mid = re.search(r'href="/emails/(\d+)"', emails)
        assert mid
        mail = await (await c.client.get(f"/emails/{mid.group(1)}")).text()
        assert f"-- \n{ORG}" in mail.replace("&#39;", "'")
        outbox = await (await c.client.get("/notifications")).text()
        assert "could not be sent" in outbox and "no mail server is set" in outbox

        # a vendor request: what to do next, not its state code
        resp = await c.post_form(f"/definitions/{shop}/requests", {}, from_page="/dashboard")
        assert resp.status == 303
        req = await (await c.client.get(resp.headers["Location"])).text()
        assert "order the certificate from the vendor" in req
        assert "is key-and-csr" not in req
        assert "Key and certificate signing request made" in req
        assert "<td>key-and-csr</td>" not in req and "<td>created</td>" not in req
