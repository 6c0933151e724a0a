"""Issue 12, finding 2: a `user` cannot obtain a private key in any form; admins can, audited.

Every path that hands out key material is tried with a `user` (refused with 403, nothing made)
and with an admin (allowed, with a ``key.release`` audit row naming who, what and to whom):
export, a conventional package, a one-click installer, reading a package from the document
folder, binding a deployment to an agent, an agent install (single and bulk), the mailed download
link, and a key made on an agent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import nacl.public
import nacl.signing
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Agent, AuditEvent, Document
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.agents.key_on_agent import (
    request_key_on_agent,
    start_key_on_agent,
)
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import PermissionDeniedError
from tests.factories.console import Console, console_client, sign_in, wait_task
from tests.factories.homes import arun_cli, make_home, run_cli

USER_PASSWORD = "a user's long password 42"  # noqa: S105 - test credential
CHOSEN = "the user's chosen passphrase 7"


def _token(home: Path, user: str) -> dict[str, str]:
    res = run_cli(["token", "create", "--user", user, "--home", str(home)])
    assert res.code == 0, res.err
    return {"Authorization": f"Bearer {res.out.strip()}"}


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> Path:
    home = make_home(tmp_path, database_url)
    pw = tmp_path / "user-pw"
    pw.write_text(USER_PASSWORD + "\n")
    res = run_cli(
        ["user", "add", "alice", "--role", "user", "--password-file", str(pw), "--home", str(home)]
    )
    assert res.code == 0, res.err
    return home


async def _releases(db: Database) -> list[AuditEvent]:
    async with db.reader() as s:
        return list(
            (
                await s.execute(
                    select(AuditEvent)
                    .where(AuditEvent.action == "key.release")
                    .order_by(AuditEvent.id)
                )
            ).scalars()
        )


async def _add_agent(db: Database) -> int:
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as s:
        agent = Agent(
            name="web01",
            hostname="web01.example.test",
            version="test",
            x25519_public=bytes(nacl.public.PrivateKey.generate().public_key),
            ed25519_public=bytes(nacl.signing.SigningKey.generate().verify_key),
            status="approved",
            enrolled_at=now,
            last_seen_at=now,
            targets=[],
        )
        s.add(agent)
        await s.flush()
        return agent.id


async def _new_deployment(c: Console, h: dict[str, str], **extra: Any) -> Any:
    return await c.client.post(
        "/api/v1/deployments",
        json={"definition": "certmgr console", "server_name": "localhost", **extra},
        headers=h,
    )


async def test_user_cannot_release_private_key(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, admin = (
        (await asyncio.to_thread(_token, home, "alice")),
        (await asyncio.to_thread(_token, home, "admin")),
    )
    settings = load_settings(home)
    db = Database(settings.database_url)
    try:
        async with console_client(home) as c:
            defs = await (
                await c.client.get("/api/v1/definitions?q=certmgr%20console", headers=user)
            ).json()
            def_id = next(d["id"] for d in defs["items"] if d["name"] == "certmgr console")

            # -- a conventional package of the console's own key (the finding's repro) --
            made = await _new_deployment(c, user)
            assert made.status == 201, await made.text()  # the daily work stays open
            dep = (await made.json())["id"]
            resp = await c.client.post(
                f"/api/v1/deployments/{dep}/prepare", json={"passphrase": CHOSEN}, headers=user
            )
            assert resp.status == 403, await resp.text()
            assert "Admin" in (await resp.json())["detail"]
            async with db.reader() as s:
                assert (await s.execute(select(Document))).first() is None
            assert await _releases(db) == []
            resp = await c.client.post(
                f"/api/v1/deployments/{dep}/prepare", json={"passphrase": CHOSEN}, headers=admin
            )
            assert resp.status == 200, await resp.text()
            doc_id = (await resp.json())["document_id"]
            (release,) = await _releases(db)
            assert release.actor == "admin"
            assert release.detail["what"] == "conventional-package"
            assert release.detail["definition"] == "certmgr console"
            assert f"document {doc_id}" in release.detail["to"]

            # -- the package in the document folder: admins and its maker only --
            url = f"/api/v1/definitions/{def_id}/documents/{doc_id}"
            assert (await c.client.get(url, headers=user)).status == 403
            listed = await (
                await c.client.get(f"/api/v1/definitions/{def_id}/documents", headers=user)
            ).json()
            assert doc_id not in [x["id"] for x in listed]
            assert (await c.client.delete(url, headers=user)).status == 403
            resp = await c.client.get(url, headers=admin)
            assert resp.status == 200
            z = zipfile.ZipFile(io.BytesIO(await resp.read()))
            key_pem = next(z.read(n) for n in z.namelist() if n.endswith("/key.pem"))
            load_pem_private_key(key_pem, CHOSEN.encode())  # what the user must never get

            # -- the mailed download link of that package --
            resp = await c.client.post(
                f"/api/v1/deployments/{dep}/request", json={"send": True}, headers=user
            )
            assert resp.status == 403
            resp = await c.client.post(
                f"/api/v1/deployments/{dep}/request", json={"send": False}, headers=user
            )
            assert resp.status != 403  # a preview carries no link

            # -- export --
            keys = await (await c.client.get("/api/v1/keys", headers=admin)).json()
            key_id = keys["items"][0]["id"]
            body = {"format": "pkcs8", "passphrase": CHOSEN}
            resp = await c.client.post(f"/api/v1/keys/{key_id}/export", json=body, headers=user)
            assert resp.status == 403
            resp = await c.client.post(f"/api/v1/keys/{key_id}/export", json=body, headers=admin)
            assert resp.status == 200
            release = (await _releases(db))[-1]
            assert release.actor == "admin" and release.detail["what"] == "export-pkcs8"
            assert release.detail["key"] == key_id and "admin" in release.detail["to"]

            # -- binding a deployment to an agent, and installing through it --
            agent_id = await _add_agent(db)
            spec = {"delivery": "agent", "software": "nginx", "agent_id": agent_id}
            resp = await _new_deployment(c, user, **spec)
            assert resp.status == 403, await resp.text()
            resp = await _new_deployment(c, admin, **spec)
            assert resp.status == 201, await resp.text()
            agent_dep = (await resp.json())["id"]
            release = (await _releases(db))[-1]
            assert release.detail["what"] == "agent-binding"
            assert release.detail["to"] == f"agent {agent_id}"
            for path, payload in (
                (f"/api/v1/deployments/{agent_dep}/install", None),
                ("/api/v1/deployments/bulk/install", {"deployments": [agent_dep]}),
            ):
                resp = await c.client.post(path, json=payload, headers=user)
                assert resp.status == 403, path
            async with db.reader() as s:
                assert not [
                    e
                    for e in (await s.execute(select(AuditEvent))).scalars()
                    if e.action == "deployment.install-requested"
                ]
            resp = await c.client.post(f"/api/v1/deployments/{agent_dep}/install", headers=admin)
            assert resp.status == 200, await resp.text()
            async with db.reader() as s:
                queued = (
                    await s.execute(
                        select(AuditEvent).where(
                            AuditEvent.action == "deployment.install-requested"
                        )
                    )
                ).scalar_one()
            assert queued.actor == "admin" and queued.detail["agent"] == agent_id

            # -- a one-click installer (console; a stand-in runtime is stamped) --
            stand_in = tmp_path / "runtime"
            stand_in.write_bytes(b"\x7fELF stand-in runtime\n" * 100)
            monkeypatch.setenv("CERTMGR_ONECLICK_RUNTIME", str(stand_in))
            resp = await _new_deployment(c, user, delivery="oneclick", software="nginx")
            oc_dep = (await resp.json())["id"]
            page = f"/deployments/{oc_dep}"
            assert (await sign_in(c, "alice", USER_PASSWORD)).status == 303
            shown = await (await c.client.get(page)).text()
            assert "Create one-click installer" not in shown and "only an admin" in shown
            resp = await c.post_form(page + "/prepare-oneclick", {}, from_page=page)
            assert resp.status == 403
            assert not re.search(r'<code class="secret">', await resp.text())
            resp = await c.post_form(f"/deployments/{dep}/prepare", {}, from_page=page)
            assert resp.status == 403
            assert (await c.client.get(f"/definitions/{def_id}/documents/{doc_id}")).status == 403
        async with console_client(home) as c:
            assert (await sign_in(c)).status == 303
            resp = await c.post_form(page + "/prepare-oneclick", {}, from_page=page)
            assert (await wait_task(c, resp.headers["Location"]))["state"] == "done"
            assert '<code class="secret">' in await (await c.client.get(page)).text()
            release = (await _releases(db))[-1]
            assert release.actor == "admin" and release.detail["what"] == "oneclick-installer"
            assert "certmgr-install-" in release.detail["to"]

        # -- a key made on an agent (CLI only; the services refuse a user) --
        vault = read_master_key(settings.master_key_path)
        alice = Actor(name="alice", role=Role.USER, source="test", user_id=2)
        for start in (request_key_on_agent, start_key_on_agent):
            with pytest.raises(PermissionDeniedError):
                await start(db, vault, alice, "certmgr console", agent_id, SystemClock())
        res = await arun_cli(
            [
                "request",
                "new",
                "certmgr console",
                "--key-on-agent",
                str(agent_id),
                "--home",
                str(home),
            ]
        )
        assert res.code == 0, res.err
        release = (await _releases(db))[-1]
        assert release.actor.startswith("cli:") and release.detail["what"] == "key-on-agent"
        assert release.detail["to"] == f"agent {agent_id} (web01)"
        assert release.detail["definition"] == "certmgr console"
    finally:
        await db.dispose()
