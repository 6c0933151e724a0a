"""Issue 12, finding 11: the download token is never stored in clear, and a link exists only once mailed.

The install request goes through a real SMTP server (aiosmtpd with STARTTLS and AUTH): the
recipient gets a working link, while Sent Emails (readable by every user) and the API answer show
it redacted. When the SMTP server refuses the message, no usable link is left behind.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import DownloadLink, SentEmail
from certmgr.controller.domain.actors import cli_actor
from certmgr.controller.services.admin.settings import MailSettings, save_mail_settings
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import SystemClock
from certmgr.shared.secret import Secret
from tests.factories.console import console_client
from tests.factories.homes import amake_home, arun_cli
from tests.factories.pki import make_pki
from tests.factories.smtp import SmtpSink


async def _mail_settings(db: Database, home: Path, port: int, ca: Path, password: str) -> None:
    settings = load_settings(home)
    await save_mail_settings(
        db,
        read_master_key(settings.master_key_path),
        cli_actor(),
        MailSettings(
            sender_address="certmgr@example.test",
            host="127.0.0.1",
            port=port,
            security="starttls",
            username="mailer",
            password=Secret(password),
            ca_file=str(ca),
        ),
        SystemClock(),
    )


async def _rows(db: Database) -> tuple[list[SentEmail], list[DownloadLink]]:
    async with db.reader() as s:
        mails = list((await s.execute(select(SentEmail).order_by(SentEmail.id))).scalars())
        links = list((await s.execute(select(DownloadLink))).scalars())
    return mails, links


async def test_download_token_not_stored_in_clear(tmp_path: Path, database_url: str) -> None:
    pki = make_pki(["localhost", "127.0.0.1"])
    files = pki.write(tmp_path / "pki")
    home = await amake_home(tmp_path, database_url)
    res = await arun_cli(
        [
            "import",
            "--home",
            str(home),
            str(files["fullchainA.pem"]),
            "--key",
            str(files["leafA.key"]),
            "--name",
            "web",
        ]
    )
    assert res.code == 0, res.err
    res = await arun_cli(
        [
            "deployment",
            "new",
            "web",
            "--home",
            str(home),
            "--server",
            "localhost",
            "--admin-email",
            "ops@example.test",
            "--json",
        ]
    )
    assert res.code == 0, res.err
    dep = int(res.json()["id"])
    assert (await arun_cli(["deployment", "prepare", str(dep), "--home", str(home)])).code == 0
    token = (
        await arun_cli(["token", "create", "--user", "admin", "--home", str(home)])
    ).out.strip()
    h = {"Authorization": f"Bearer {token}"}
    db = Database(load_settings(home).database_url)
    try:
        async with (
            SmtpSink(files["fullchainA.pem"], files["leafA.key"]) as sink,
            console_client(home) as c,
        ):

            async def send() -> Any:
                resp = await c.client.post(
                    f"/api/v1/deployments/{dep}/request", json={"send": True}, headers=h
                )
                assert resp.status == 200, await resp.text()
                return await resp.json()

            # the SMTP server refuses (wrong password): no link is made
            await _mail_settings(db, home, sink.port, files["root.pem"], "wrong password")
            answer = await send()
            assert answer["result"] == "failed"
            mails, links = await _rows(db)
            assert links == [] and len(mails) == 1 and mails[0].result == "failed"
            assert "/dl/" in mails[0].body and "<redacted>" in mails[0].body
            assert sink.messages == []

            # accepted: the recipient's link works, the stored copy and the answer are redacted
            await _mail_settings(db, home, sink.port, files["root.pem"], "s3cret")
            answer = await send()
            assert answer["result"] == "sent"
            assert sink.wait_for_messages(1)
            body = sink.messages[0].as_email().get_content()
            found = re.search(r"https://\S+/dl/(\S+)", body)
            assert found
            secret = found.group(1)
            mails, links = await _rows(db)
            assert len(links) == 1 and mails[-1].result == "sent"
            for stored in mails:
                assert secret not in stored.body and secret not in stored.subject
            assert "/dl/<redacted>" in mails[-1].body
            assert secret not in str(answer)
            resp = await c.client.get(f"/dl/{secret}")
            assert resp.status == 200 and len(await resp.read()) > 0
    finally:
        await db.dispose()


async def test_tokens_stored_before_are_redacted_by_the_migration(database_url: str) -> None:
    import datetime as dt

    import sqlalchemy as sa
    from alembic import command

    from certmgr.controller.db.engine import alembic_config

    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0006"))
        token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.insert(cast(sa.Table, SentEmail.__table__)).values(
                    at=dt.datetime.now(dt.UTC),
                    kind="install-request",
                    to="ops@example.test",
                    subject="Please install",
                    body=f"Download: https://cm.example.test/dl/{token}\nThanks",
                    result="sent",
                    error="",
                    entity_type="deployment",
                    entity_id="1",
                    attempts=1,
                )
            )
        await db.upgrade()
        mails, _ = await _rows(db)
        assert [m.body for m in mails] == [
            "Download: https://cm.example.test/dl/<redacted>\nThanks"
        ]
    finally:
        await db.dispose()
