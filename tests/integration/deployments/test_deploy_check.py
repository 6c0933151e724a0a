"""Deployment processes against a real nginx on loopback and a real SMTP server (issue 5)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from tests.factories.console import console_client, sign_in
from tests.factories.homes import home_with_definition, run_cli
from tests.factories.pki import TestPki, make_pki
from tests.factories.readme import follow_nginx_readme
from tests.factories.servers import NginxServer, free_port, wait_for_leaf
from tests.factories.smtp import SmtpSink


@pytest.fixture
def pki() -> TestPki:
    return make_pki(["localhost", "127.0.0.1"])


def _new_deployment(home: Path, port: int, *extra: str) -> int:
    res = run_cli(
        [
            "deployment",
            "new",
            "web",
            "--home",
            str(home),
            "--server",
            "localhost",
            "--check",
            f"127.0.0.1:{port}",
            "--sni",
            "localhost",
            "--admin-email",
            "ops@example.test",
            "--json",
            *extra,
        ]
    )
    assert res.code == 0, res.err
    return int(res.json()["id"])


def test_check_right_wrong_incomplete_down(tmp_path: Path, database_url: str, pki: TestPki) -> None:
    files = pki.write(tmp_path / "pki")
    home = home_with_definition(tmp_path, database_url, files)
    with (
        NginxServer(
            tmp_path / "right", cert=files["fullchainA.pem"], key=files["leafA.key"]
        ) as right,
        NginxServer(
            tmp_path / "wrong", cert=files["fullchainB.pem"], key=files["leafB.key"]
        ) as wrong,
        NginxServer(tmp_path / "short", cert=files["leafA.pem"], key=files["leafA.key"]) as short,
    ):
        ok_id = _new_deployment(home, right.port)
        res = run_cli(["deployment", "check", str(ok_id), "--home", str(home), "--json"])
        assert res.code == 0, res.out + res.err
        out = res.json()
        assert (
            out["ok"] and out["matches_current"] and out["chain_complete"] and out["chain_in_order"]
        )
        assert out["protocol"].startswith("TLS")
        # the deployment was only checked; "done" confirms it
        shown = run_cli(["deployment", "show", str(ok_id), "--home", str(home), "--json"]).json()
        assert shown["status"] == "draft"
        assert (
            run_cli(["deployment", "done", str(ok_id), "--home", str(home)]).code == 0
        )  # a passing check confirms even a draft
        assert (
            run_cli(["deployment", "done", str(ok_id), "--installed", "--home", str(home)]).code
            == 4
        )  # confirmed -> installed is not a transition

        bad_id = _new_deployment(home, wrong.port)
        res = run_cli(["deployment", "check", str(bad_id), "--home", str(home), "--json"])
        assert res.code == 1
        out = res.json()
        assert not out["matches_current"] and any(
            "not the current one" in p for p in out["problems"]
        )

        short_id = _new_deployment(home, short.port)
        out = run_cli(["deployment", "check", str(short_id), "--home", str(home), "--json"]).json()
        assert out["matches_current"] and not out["chain_complete"]
        assert any("Test Intermediate" in p for p in out["problems"])

    down_id = _new_deployment(home, free_port())
    res = run_cli(
        ["deployment", "check", str(down_id), "--home", str(home), "--json", "--timeout", "3"]
    )
    out = res.json()
    assert res.code == 1 and not out["reachable"] and out["error_kind"] == "refused"
    assert "Traceback" not in res.err


def test_conventional_package_mail_download_and_readme_install(
    tmp_path: Path, database_url: str, pki: TestPki
) -> None:
    files = pki.write(tmp_path / "pki")
    home = home_with_definition(tmp_path, database_url, files)
    with (
        SmtpSink(files["fullchainA.pem"], files["leafA.key"]) as sink,
        NginxServer(tmp_path / "ngx", cert=files["fullchainB.pem"], key=files["leafB.key"]) as ngx,
    ):
        dep = _new_deployment(home, ngx.port)
        pw = tmp_path / "pw"
        pw.write_text("package passphrase 9\n")
        zpath = tmp_path / "package.zip"
        res = run_cli(
            [
                "deployment",
                "prepare",
                str(dep),
                "--home",
                str(home),
                "--passphrase-file",
                str(pw),
                "--out",
                str(zpath),
            ]
        )
        assert res.code == 0, res.err
        z = zipfile.ZipFile(io.BytesIO(zpath.read_bytes()))
        names = sorted(n.split("/", 1)[1] for n in z.namelist())
        assert names == ["README.txt", "cert.pem", "chain.pem", "fullchain.pem", "key.pem"]
        assert b"ENCRYPTED PRIVATE KEY" in z.read(z.namelist()[0].split("/")[0] + "/key.pem")
        assert b"package passphrase 9" not in zpath.read_bytes()

        # install by following the README, with this nginx's folders and commands
        unpack = tmp_path / "unpacked"
        z.extractall(unpack)
        folder = next(unpack.iterdir())
        follow_nginx_readme(folder, ngx, tmp_path / "ssl", "package passphrase 9")
        from certmgr.shared.pki import sha256_fingerprint

        assert wait_for_leaf("127.0.0.1", ngx.port, sha256_fingerprint(pki.leaf_a))

        # the install request e-mail through a real SMTP server
        run_cli(["definition", "list", "--home", str(home)])
        settings_ok = _configure_mail(home, sink, files)
        assert settings_ok
        preview = run_cli(["deployment", "request", str(dep), "--home", str(home), "--preview"])
        assert "PREVIEW-LINK-TOKEN" in preview.out and "passphrase" in preview.out.lower()
        assert len(sink.messages) == 0
        res = run_cli(["deployment", "request", str(dep), "--home", str(home)])
        assert res.code == 0, res.out + res.err
        assert sink.wait_for_messages(1)
        msg = sink.messages[0].as_email()
        assert msg["To"] == "ops@example.test"
        body = msg.get_content()
        assert "package passphrase 9" not in body
        link = re.search(r"https://\S+/dl/(\S+)", body)
        assert link
        shown = run_cli(["deployment", "show", str(dep), "--home", str(home), "--json"]).json()
        assert shown["status"] == "install-requested"
        # the deploy check now passes and confirms
        res = run_cli(["deployment", "check", str(dep), "--done", "--home", str(home), "--json"])
        assert res.code == 0, res.out
        assert (
            run_cli(["deployment", "show", str(dep), "--home", str(home), "--json"]).json()[
                "status"
            ]
            == "confirmed"
        )
    return_link = link.group(1)
    _download(home, return_link, zpath.read_bytes())


def _configure_mail(home: Path, sink: SmtpSink, files: dict[str, Path]) -> bool:
    import asyncio

    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.services.admin.settings import MailSettings, save_mail_settings
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key
    from certmgr.shared.clock import SystemClock
    from certmgr.shared.secret import Secret

    async def run() -> bool:
        settings = load_settings(home)
        db = Database(settings.database_url)
        try:
            await save_mail_settings(
                db,
                read_master_key(settings.master_key_path),
                cli_actor(),
                MailSettings(
                    sender_address="certmgr@example.test",
                    host="127.0.0.1",
                    port=sink.port,
                    security="starttls",
                    username="mailer",
                    password=Secret("s3cret"),
                    ca_file=str(files["root.pem"]),
                ),
                SystemClock(),
            )
        finally:
            await db.dispose()
        return True

    return asyncio.run(run())


def _download(home: Path, token: str, expected: bytes) -> None:
    import asyncio

    async def run() -> None:
        async with console_client(home) as c:
            resp = await c.client.get(f"/dl/{token}")
            assert resp.status == 200
            assert await resp.read() == expected
            assert (await c.client.get("/dl/" + "x" * 32)).status == 404
            await sign_in(c)
            audit = await (await c.client.get("/audit?action=package.download")).text()
            assert "package.download" in audit

    asyncio.run(run())


def test_manual_check_code_roundtrip(tmp_path: Path, database_url: str, pki: TestPki) -> None:
    files = pki.write(tmp_path / "pki")
    home = home_with_definition(tmp_path, database_url, files)
    with NginxServer(tmp_path / "ngx", cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx:
        dep = _new_deployment(home, ngx.port, "--no-monitoring")
        key = run_cli(["deployment", "check-key", str(dep), "--home", str(home)]).out.strip()
        assert key.startswith("CMK1")
        # run "elsewhere": no home needed
        res = run_cli(
            [
                "check",
                f"127.0.0.1:{ngx.port}",
                "--sni",
                "localhost",
                "--deployment",
                str(dep),
                "--key",
                key,
            ]
        )
        assert res.code == 0, (
            res.out
        )  # without --expect the served chain is checked, the certificate is compared later
        code = re.search(r"(CMC1-[A-Z0-9-]+)", res.out)
        assert code
        tampered = code.group(1)[:-3] + ("AAA" if not code.group(1).endswith("AAA") else "BBB")
        bad = run_cli(["deployment", "check-code", str(dep), tampered, "--home", str(home)])
        assert bad.code != 0 and "Traceback" not in bad.err
        good = run_cli(["deployment", "check-code", str(dep), code.group(1), "--home", str(home)])
        assert "recorded manual check" in good.out
