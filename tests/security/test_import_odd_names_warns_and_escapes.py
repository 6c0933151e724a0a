"""Finding 18: a real certificate with names that are not valid DNS names imports, with a warning.

Appliances and old CAs make such certificates (here with the real openssl): a SAN holding
markup, a subject with a line break, an e-mail and a URI SAN. The certificate imports (it is
deployed somewhere and must be monitored), the warning names the odd values escaped, its
definition keeps only valid names, and the console, the API and the CLI show everything escaped.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import require_tool
from tests.factories.console import console_client, sign_in
from tests.factories.homes import amake_home, arun_cli, make_home, run_cli

ODD_SAN = "<script>alert(2)</script>.example.test"
SANS = (
    f"DNS:ok.example.test, DNS:{ODD_SAN}, DNS:WWW.Example.TEST, email:admin@example.test, "
    "URI:https://example.test/x?a=<b>, IP:192.0.2.7"
)
SUBJECT = "/CN=odd.example.test\n<i>line two<i>/O=Odd Appliance"


@pytest.fixture(scope="module")
def odd_cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("odd")
    subprocess.run(
        [
            require_tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(d / "k.pem"), "-subj", SUBJECT,
            "-days", "30", "-addext", "basicConstraints=critical,CA:FALSE", "-addext",
            f"subjectAltName={SANS}", "-out", str(d / "odd.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return d / "odd.pem"


def test_import_odd_names_warns_and_escapes(
    tmp_path: Path, database_url: str, odd_cert: Path
) -> None:
    home = make_home(tmp_path, database_url)
    res = run_cli(["import", "--home", str(home), "--json", str(odd_cert)])
    assert res.code == 0, res.err
    (leaf,) = res.json()
    assert leaf["made_current"] is True
    assert f"'{ODD_SAN}'" in " ".join(leaf["warnings"]), leaf["warnings"]
    assert any("line two" in w and "\\x0a" in w for w in leaf["warnings"]), leaf["warnings"]

    shown = run_cli(
        ["definition", "show", "--home", str(home), str(leaf["definition_id"]), "--json"]
    )
    assert shown.code == 0, shown.err
    assert sorted(shown.json()["sans"]) == ["192.0.2.7", "ok.example.test", "www.example.test"]
    assert "\n" not in shown.json()["name"] and "\\x0a" in shown.json()["name"]

    # CLI text: one line per fact; the line break of the subject is shown escaped.
    text = run_cli(["certificate", "show", "--home", str(home), leaf["sha256"]])
    assert text.code == 0, text.err
    subject_line = next(line for line in text.out.splitlines() if "subject" in line)
    assert "odd.example.test\\x0a" in subject_line and "line two" in subject_line, text.out
    assert not any(
        "line two" in line and "subject" not in line and "issuer" not in line
        for line in text.out.splitlines()
    ), text.out
    listing = run_cli(["certificate", "list", "--home", str(home)])
    assert listing.code == 0 and not any(
        line.lstrip().startswith(("<i>", "\\<i")) for line in listing.out.splitlines()
    ), listing.out


async def test_console_and_api_show_odd_names_escaped(tmp_path: Path, odd_cert: Path) -> None:
    home = await amake_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    token = (
        await arun_cli(["token", "create", "--user", "admin", "--home", str(home)])
    ).out.strip()
    async with console_client(home) as c:
        await sign_in(c)
        csrf = await c.csrf("/import")
        form = aiohttp.FormData()
        form.add_field("csrf", csrf)
        form.add_field("file", odd_cert.read_bytes(), filename="odd.pem")
        resp = await c.client.post("/import", data=form, allow_redirects=False)
        html = await resp.text()
        assert resp.status == 200, html
        assert "<script>alert(2)" not in html and "&lt;script&gt;alert(2)" in html
        assert "not valid DNS names" in html
        tok = re.search(r'name="token" value="([^"]+)"', html)
        assert tok
        resp = await c.post_form("/import/confirm", {"token": tok.group(1)}, from_page="/dashboard")
        assert resp.status == 303
        certs = await (await c.client.get("/certificates")).text()
        cid = re.search(r'href="/certificates/(\d+)"', certs)
        assert cid
        for page in ("/certificates", f"/certificates/{cid.group(1)}", "/definitions", "/audit"):
            body = await (await c.client.get(page)).text()
            assert "<script>alert(2)" not in body and "<i>line two" not in body, page
        detail = await (await c.client.get(f"/certificates/{cid.group(1)}")).text()
        assert "&lt;script&gt;alert(2)&lt;/script&gt;.example.test" in detail

        resp = await c.client.get(
            f"/api/v1/certificates/{cid.group(1)}", headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status == 200 and resp.content_type == "application/json"
        data = await resp.json()
        assert ODD_SAN in data["sans"] and "admin@example.test" in data["sans"]
