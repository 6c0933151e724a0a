"""The shared real-server fixtures themselves: Apache and HAProxy serve, reload and stop; the SMTP sink takes mail."""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.tlsprobe import probe
from tests.factories.pki import TestPki, make_pki
from tests.factories.servers import ApacheServer, HaproxyServer, served_leaf_sha256, wait_for_leaf
from tests.factories.smtp import SmtpSink


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def files(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pki.write(tmp_path_factory.mktemp("pki"))


async def test_apache_serves_chain_and_reloads(
    tmp_path: Path, pki: TestPki, files: dict[str, Path]
) -> None:
    async with ApacheServer(
        tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"]
    ) as apache:
        assert (await asyncio.to_thread(apache.test_config)).returncode == 0
        r = await probe("127.0.0.1", apache.port, sni="localhost", timeout=5)
        assert r.chain == (pki.leaf_a, pki.intermediate)
        apache.cert_path.write_bytes(files["fullchainB.pem"].read_bytes())
        apache.key_path.write_bytes(files["leafB.key"].read_bytes())
        await asyncio.to_thread(apache.reload)
        assert await asyncio.to_thread(
            wait_for_leaf, "127.0.0.1", apache.port, sha256_fingerprint(pki.leaf_b)
        )
        proc = apache.proc
    assert proc is not None and proc.poll() is not None  # reaped
    assert await asyncio.to_thread(served_leaf_sha256, "127.0.0.1", apache.port, timeout=1) is None


async def test_haproxy_serves_chain_and_reloads(
    tmp_path: Path, pki: TestPki, files: dict[str, Path]
) -> None:
    async with HaproxyServer(tmp_path, combined=files["combinedA.pem"]) as haproxy:
        r = await probe("127.0.0.1", haproxy.port, sni="localhost", timeout=5)
        assert r.chain == (pki.leaf_a, pki.intermediate)
        haproxy.combined_path.write_bytes(files["combinedB.pem"].read_bytes())
        await asyncio.to_thread(haproxy.reload)
        assert await asyncio.to_thread(
            wait_for_leaf, "127.0.0.1", haproxy.port, sha256_fingerprint(pki.leaf_b)
        )
    assert await asyncio.to_thread(served_leaf_sha256, "127.0.0.1", haproxy.port, timeout=1) is None


async def test_smtp_sink_takes_authenticated_mail(pki: TestPki, files: dict[str, Path]) -> None:
    ctx = ssl.create_default_context(cafile=str(files["root.pem"]))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "certmgr@example.test", "admin@example.test", "hello"
    msg.set_content("body")
    async with SmtpSink(files["fullchainA.pem"], files["leafA.key"]) as sink:
        await aiosmtplib.send(
            msg,
            hostname="127.0.0.1",
            port=sink.port,
            start_tls=True,
            tls_context=ctx,
            username=sink.user,
            password=sink.password,
            timeout=5,
        )
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await aiosmtplib.send(
                msg,
                hostname="127.0.0.1",
                port=sink.port,
                start_tls=True,
                tls_context=ctx,
                username=sink.user,
                password="wrong",
                timeout=5,
            )
        assert await sink.messages_arrived(1)
    (got,) = sink.messages
    assert got.login == b"mailer" and got.rcpt_tos == ("admin@example.test",)
    assert got.as_email()["Subject"] == "hello"
