"""REST API /api/v1 with bearer tokens: every resource, roles, problem details, the OpenAPI document."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certmgr.controller.app import create_app
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from tests.factories.console import console_client
from tests.factories.homes import amake_home, make_home, run_cli
from tests.factories.pki import make_ca, make_leaf


def _token(home: Path, user: str = "admin") -> str:
    res = run_cli(["token", "create", "--user", user, "--home", str(home)])
    assert res.code == 0, res.err
    return res.out.strip()


def _p12() -> tuple[bytes, str]:
    ca_key, ca = make_ca("API Test CA")
    key, leaf = make_leaf(ca_key, ca, "api.example.test", ["api.example.test"])
    data = pkcs12.serialize_key_and_certificates(
        b"api", key, leaf, [ca], serialization.BestAvailableEncryption(b"pw-1234567")
    )
    from certmgr.shared.pki import sha256_fingerprint

    return data, sha256_fingerprint(leaf)


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> Path:
    return make_home(tmp_path, database_url)


async def test_tokens_and_problem_details(home: Path) -> None:
    token = await asyncio.to_thread(_token, home)
    async with console_client(home) as c:
        resp = await c.client.get("/api/v1/me")
        assert resp.status == 401
        resp = await c.client.get("/api/v1/me", headers={"Authorization": "Bearer cmt_nonsense"})
        assert resp.status == 401
        h = {"Authorization": f"Bearer {token}"}
        me = await (await c.client.get("/api/v1/me", headers=h)).json()
        assert me["username"] == "admin"
        resp = await c.client.post(
            "/api/v1/definitions",
            data=b"{not json",
            headers={**h, "Content-Type": "application/json"},
        )
        assert resp.status == 422
        problem = await resp.json()
        assert resp.content_type == "application/problem+json"
        assert problem["status"] == 422 and "JSON" in problem["detail"]
        resp = await c.client.post(
            "/api/v1/definitions",
            json={"name": "x", "common_name": "bad name!", "sans": []},
            headers=h,
        )
        assert resp.status == 422
        assert (await resp.json())["field"] in ("san", "common_name")
        resp = await c.client.post("/api/v1/definitions", json={"name": 5}, headers=h)
        assert resp.status == 422
        resp = await c.client.get("/api/v1/definitions/99999", headers=h)
        assert resp.status == 404
        # a revoked token stops working
        toks = await (await c.client.get("/api/v1/tokens", headers=h)).json()
        other = await (
            await c.client.post("/api/v1/tokens", json={"name": "second"}, headers=h)
        ).json()
        assert (await c.client.delete(f"/api/v1/tokens/{other['id']}", headers=h)).status == 204
        assert (
            await c.client.get("/api/v1/me", headers={"Authorization": f"Bearer {other['token']}"})
        ).status == 401
        assert len(toks) >= 1


async def test_definitions_certificates_keys_import(home: Path) -> None:
    h = {"Authorization": f"Bearer {(await asyncio.to_thread(_token, home))}"}
    async with console_client(home) as c:
        for i in range(5):
            resp = await c.client.post(
                "/api/v1/definitions",
                json={
                    "name": f"d{i}",
                    "common_name": f"d{i}.example.test",
                    "sans": [f"alt{i}.example.test"],
                },
                headers=h,
            )
            assert resp.status == 201, await resp.text()
        assert (
            await c.client.post(
                "/api/v1/definitions",
                json={"name": "d1", "common_name": "x.example.test"},
                headers=h,
            )
        ).status == 409
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(10):
            url = "/api/v1/definitions?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = await (await c.client.get(url, headers=h)).json()
            seen += [d["name"] for d in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(["certmgr console", "d0", "d1", "d2", "d3", "d4"])
        assert (await c.client.get("/api/v1/definitions?cursor=garbage", headers=h)).status == 422

        data, sha = _p12()
        body: dict[str, Any] = {
            "files": [{"name": "api.p12", "data": base64.b64encode(data).decode()}],
            "password": "pw-1234567",
            "dry_run": True,
        }
        dry = await (await c.client.post("/api/v1/import", json=body, headers=h)).json()
        assert dry["dry_run"] is True and dry["results"][0]["sha256"] == sha
        assert (await c.client.get(f"/api/v1/definitions?q={sha[:12]}", headers=h)).status == 200
        real = await (
            await c.client.post("/api/v1/import", json={**body, "dry_run": False}, headers=h)
        ).json()
        leaf = next(r for r in real["results"] if not r["is_ca"])
        assert leaf["sha256"] == sha and leaf["has_private_key"] is True
        bad = await c.client.post(
            "/api/v1/import", json={**body, "password": "wrong", "dry_run": False}, headers=h
        )
        assert bad.status == 422
        assert "wrong passphrase" in (await bad.json())["detail"]

        certs = await (await c.client.get("/api/v1/certificates", headers=h)).json()
        cid = next(x["id"] for x in certs["items"] if x["sha256"] == sha)
        pem = await (
            await c.client.get(f"/api/v1/certificates/{cid}/download/fullchain.pem", headers=h)
        ).read()
        assert (
            pem.count(b"BEGIN CERTIFICATE") == 1
        )  # the chain holds only the root, which a full chain leaves out
        der = await c.client.get(f"/api/v1/certificates/{cid}/download/cert.der", headers=h)
        assert der.status == 200 and (await der.read())[:1] == b"\x30"
        keys = await (await c.client.get("/api/v1/keys", headers=h)).json()
        kid = next(k["id"] for k in keys["items"] if cid in k["certificate_ids"])
        weak = await c.client.post(
            f"/api/v1/keys/{kid}/export", json={"format": "pkcs8", "passphrase": "short"}, headers=h
        )
        assert weak.status == 422
        exp = await c.client.post(
            f"/api/v1/keys/{kid}/export",
            json={"format": "pkcs12", "passphrase": "export passphrase 1"},
            headers=h,
        )
        assert exp.status == 200
        loaded = pkcs12.load_pkcs12(await exp.read(), b"export passphrase 1")
        assert loaded.key is not None
        audit = await (await c.client.get("/api/v1/audit?action=key.export", headers=h)).json()
        assert len(audit["items"]) == 1


async def test_user_role_limits_and_documents(home: Path, tmp_path: Path) -> None:
    admin = {"Authorization": f"Bearer {(await asyncio.to_thread(_token, home))}"}
    async with console_client(home) as c:
        made = await (
            await c.client.post(
                "/api/v1/users",
                json={"username": "carol", "role": "user", "password": "carol password 123"},
                headers=admin,
            )
        ).json()
        assert made["one_time_password"] is None
        user = {"Authorization": f"Bearer {(await asyncio.to_thread(_token, home, 'carol'))}"}
        assert (await c.client.get("/api/v1/users", headers=user)).status == 403
        assert (await c.client.get("/api/v1/settings", headers=user)).status == 403
        assert (
            await c.client.post(
                "/api/v1/keys/1/export",
                json={"format": "pkcs8", "passphrase": "x" * 12},
                headers=user,
            )
        ).status == 403
        d = await (
            await c.client.post(
                "/api/v1/definitions",
                json={"name": "docs", "common_name": "docs.example.test"},
                headers=user,
            )
        ).json()
        up = await c.client.post(
            f"/api/v1/definitions/{d['id']}/documents",
            json={
                "filename": "../../../etc/passwd",
                "data": base64.b64encode(b"order form").decode(),
            },
            headers=user,
        )
        assert up.status == 201
        doc = await up.json()
        assert "/" not in doc["filename"] and ".." not in doc["filename"]
        stored = list((home / "documents").rglob("*"))
        assert all(p.resolve().is_relative_to((home / "documents").resolve()) for p in stored)
        got = await c.client.get(
            f"/api/v1/definitions/{d['id']}/documents/{doc['id']}", headers=user
        )
        assert await got.read() == b"order form"
        assert "attachment" in got.headers["Content-Disposition"]
        assert (
            await c.client.delete(
                f"/api/v1/definitions/{d['id']}/documents/{doc['id']}", headers=user
            )
        ).status == 204
        assert (
            await c.client.get(f"/api/v1/definitions/{d['id']}/documents/{doc['id']}", headers=user)
        ).status == 404
        # admin can't remove the last admin
        me = await (await c.client.get("/api/v1/me", headers=admin)).json()
        assert (await c.client.delete(f"/api/v1/users/{me['id']}", headers=admin)).status == 409
        assert (
            await c.client.patch(
                f"/api/v1/users/{made['user']['id']}", json={"disabled": True}, headers=admin
            )
        ).status == 200
        assert (await c.client.get("/api/v1/me", headers=user)).status == 401


async def test_openapi_document_matches_routes(tmp_path: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    settings = load_settings(home)
    app = create_app(settings, read_master_key(settings.master_key_path))
    async with console_client(home) as c:
        doc = await (await c.client.get("/api/v1/openapi.json")).json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routed = set()
    for r in app.router.routes():
        info = r.resource.get_info() if r.resource else {}
        path = info.get("path") or info.get("formatter")
        if (
            path
            and path.startswith("/api/v1/")
            and path != "/api/v1/openapi.json"
            and r.method != "HEAD"
        ):
            routed.add((r.method, path.replace("{id:\\d+}", "{id}").replace("{doc:\\d+}", "{doc}")))
    assert routed == documented
    for ops in doc["paths"].values():
        for op in ops.values():
            assert op["summary"] and op["responses"]
    assert doc["openapi"].startswith("3.1")
    _ = dt  # keep import used
