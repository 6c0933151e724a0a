"""STARTTLS against the real servers: aiosmtpd, Dovecot (IMAP, POP3), vsftpd, slapd, PostgreSQL.

Each server serves a chain this module made; the probe must get exactly that chain. The servers
start from synchronous fixtures, so no test's event loop waits for a daemon to come up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from certmgr.shared.tlsprobe import STARTTLS_PORTS, STARTTLS_PROTOCOLS, probe, starttls_for_port
from tests.factories.mailservers import DovecotServer, PostgresTlsServer, SlapdServer, VsftpdServer
from tests.factories.pki import TestPki, make_pki
from tests.factories.smtp import SmtpSink


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def files(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pki.write(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def dovecot(
    files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DovecotServer]:
    with DovecotServer(
        tmp_path_factory.mktemp("dovecot"), cert=files["fullchainA.pem"], key=files["leafA.key"]
    ) as server:
        yield server


@pytest.fixture(scope="module")
def endpoints(
    files: dict[str, Path], dovecot: DovecotServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, int]]:
    """One real server per protocol, all serving fullchainA: protocol -> port."""
    cert, key = files["fullchainA.pem"], files["leafA.key"]
    work = tmp_path_factory.mktemp("daemons")
    with (
        SmtpSink(cert, key) as smtp,
        VsftpdServer(work, cert=cert, key=key) as ftp,
        SlapdServer(work, cert=cert, key=key) as ldap,
        PostgresTlsServer(cert=cert, key=key) as pg,
    ):
        yield {
            "smtp": smtp.port,
            "imap": dovecot.imap_port,
            "pop3": dovecot.pop3_port,
            "ftp": ftp.port,
            "ldap": ldap.port,
            "postgres": pg.port,
        }


@pytest.mark.parametrize("proto", STARTTLS_PROTOCOLS)
async def test_starttls_gets_exactly_the_served_chain(
    proto: str, endpoints: dict[str, int], pki: TestPki
) -> None:
    r = await probe(
        "127.0.0.1",
        endpoints[proto],
        starttls=proto,
        sni="localhost",
        timeout=10,
        trust_roots=[pki.root],
    )
    assert r.ok, r.error
    assert r.chain == (pki.leaf_a, pki.intermediate)
    assert r.verified is True and r.hostname_matches
    assert r.starttls == proto and r.starttls_ms is not None and r.handshake_ms is not None
    assert r.protocol in ("TLSv1.2", "TLSv1.3") and r.cipher


@pytest.mark.parametrize("proto", ["imap", "pop3"])
async def test_direct_tls_on_a_starttls_port_is_not_tls(proto: str, dovecot: DovecotServer) -> None:
    port = dovecot.imap_port if proto == "imap" else dovecot.pop3_port
    r = await probe("127.0.0.1", port, timeout=5)
    assert r.error_kind == "handshake" and r.error_reason == "not-tls" and r.phase == "handshake"


# --- the same servers with TLS switched off: a clear refusal, not a hang -------------------------
@pytest.fixture(scope="module")
def plain_endpoints(
    files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, int]]:
    cert, key = files["fullchainA.pem"], files["leafA.key"]
    work = tmp_path_factory.mktemp("plain")
    with (
        DovecotServer(work, cert=cert, key=key, ssl="no") as dovecot,
        VsftpdServer(work, cert=cert, key=key, ssl=False) as ftp,
        SlapdServer(work, cert=cert, key=key, tls=False) as ldap,
        PostgresTlsServer(cert=cert, key=key, ssl=False) as pg,
    ):
        yield {
            "imap": dovecot.imap_port,
            "pop3": dovecot.pop3_port,
            "ftp": ftp.port,
            "ldap": ldap.port,
            "postgres": pg.port,
        }


@pytest.mark.parametrize(
    ("proto", "reason", "words"),
    [
        ("imap", "not-offered", "does not offer STARTTLS"),
        ("pop3", "not-offered", "does not offer STLS"),
        ("ftp", "rejected", "refused AUTH TLS"),
        ("ldap", "rejected", "refused StartTLS"),
        ("postgres", "rejected", "ssl = off"),
    ],
)
async def test_server_without_tls_refuses_clearly(
    proto: str, reason: str, words: str, plain_endpoints: dict[str, int]
) -> None:
    r = await probe("127.0.0.1", plain_endpoints[proto], starttls=proto, timeout=5)
    assert r.reachable and r.error_kind == "starttls" and r.error_reason == reason
    assert r.phase == "starttls" and words in (r.error or ""), r.error
    assert r.chain == ()


def test_default_ports_map_to_protocols() -> None:
    assert dict(STARTTLS_PORTS) == {
        25: "smtp",
        587: "smtp",
        143: "imap",
        110: "pop3",
        21: "ftp",
        389: "ldap",
        5432: "postgres",
    }
    assert starttls_for_port(443) is None and starttls_for_port(5432) == "postgres"
    assert set(STARTTLS_PORTS.values()) == set(STARTTLS_PROTOCOLS)
