"""Console forms show every error at once beside its field, keep the input, and redirect after success."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from tests.factories.console import console_client, field_error, sign_in
from tests.factories.homes import amake_home


@pytest.mark.parametrize("database", ["sqlite"])
async def test_new_definition_form_reports_all_errors_beside_their_fields(
    tmp_path: Path, database: str
) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        bad = {
            "name": "",
            "common_name": "not a host name!",
            "country": "XYZ",
            "organization": "Keep this text",
        }
        resp = await c.post_form("/definitions/new", bad, from_page="/definitions/new")
        html = await resp.text()
        assert resp.status == 422
        # all three at once, each beside its field, in sentences
        assert field_error(html, "name") == "Name is required."
        assert "is not a host name or IP address" in field_error(html, "common_name")
        assert field_error(html, "country").startswith("Country must be at most 2 characters")
        for name in ("name", "common_name", "country"):
            assert re.search(
                rf'id="f-{name}"[^>]*aria-invalid="true" aria-describedby="err-{name}"', html
            ), name
        assert "3 things need fixing" in html
        # the input is kept
        assert 'value="Keep this text"' in html and 'value="not a host name!"' in html

        # a good form: 303 to the new page (no resubmission on reload)
        good = {"name": "shop", "common_name": "shop.example.test"}
        resp = await c.post_form("/definitions/new", good, from_page="/definitions/new")
        assert resp.status == 303 and re.fullmatch(r"/definitions/\d+", resp.headers["Location"])

        # the same name again: an inline error on the name, not a dead-end Conflict page
        resp = await c.post_form("/definitions/new", good, from_page="/definitions/new")
        html = await resp.text()
        assert resp.status == 422
        assert "exists already: choose another name" in field_error(html, "name")
        assert "Conflict" not in html
        assert 'value="shop.example.test"' in html


@pytest.mark.parametrize("database", ["sqlite"])
async def test_a_common_name_with_sans_may_be_free_text(tmp_path: Path, database: str) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        form = {"name": "svc", "common_name": "Shop service", "sans": "shop.example.test"}
        resp = await c.post_form("/definitions/new", form, from_page="/definitions/new")
        assert resp.status == 303, await resp.text()


@pytest.mark.parametrize("database", ["sqlite"])
async def test_an_empty_file_is_called_empty(tmp_path: Path, database: str) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        token = await c.csrf("/import")
        form = aiohttp.FormData()
        form.add_field("csrf", token)
        form.add_field("file", b"", filename="site.pem", content_type="application/x-pem-file")
        resp = await c.client.post("/import", data=form)
        html = await resp.text()
        assert resp.status == 422
        assert "The file site.pem is empty" in html or "the file site.pem is empty" in html
        doc = aiohttp.FormData()
        doc.add_field("csrf", token)
        doc.add_field("file", b"", filename="notes.txt")
        resp = await c.client.post("/definitions/1/documents", data=doc)
        assert "The file notes.txt is empty: nothing was added." in await resp.text()


@pytest.mark.parametrize("database", ["sqlite"])
async def test_new_deployment_form_reports_all_errors_and_keeps_input(
    tmp_path: Path, database: str
) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    async with console_client(home) as c:
        await sign_in(c)
        page = "/definitions/1/deployments/new"
        bad = {
            "server_name": "",
            "software": "nginx",
            "delivery": "conventional",
            "check_port": "99999",
            "sni": "keep.example.test",
        }
        resp = await c.post_form(page, bad, from_page=page)
        html = await resp.text()
        assert resp.status == 422
        assert field_error(html, "server_name") == "Server name is required."
        assert field_error(html, "check_port") == "Check port must be between 1 and 65535."
        assert 'value="keep.example.test"' in html and 'value="99999"' in html
        # an unticked box stays unticked
        assert '<input type="checkbox" name="monitoring" checked>' not in html
        good = {**bad, "server_name": "web1", "check_port": "443", "monitoring": "on"}
        resp = await c.post_form(page, good, from_page=page)
        assert resp.status == 303 and resp.headers["Location"].startswith("/deployments/")
