"""The deeper scan for the protocol floor against real nginx on loopback: one still offering TLS 1.0
and 1.1 (``ssl_protocols TLSv1 TLSv1.1 TLSv1.2``, ``ssl_ciphers DEFAULT:@SECLEVEL=0``), one with
TLS 1.2 and 1.3 only; then the trust policy's ``old-protocol`` rule on what was found.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from certmgr.shared.discovery.policy import Rule, TrustPolicy, judge
from certmgr.shared.discovery.protocols import protocols_offered
from certmgr.shared.errors import ValidationError
from tests.factories.pki import TestPki, make_pki
from tests.factories.servers import NginxServer, free_port


class _ProtocolNginx(NginxServer):
    """NginxServer with ``ssl_protocols`` (and the lowest security level for old versions)."""

    def __init__(self, workdir: Path, *, protocols: str, **kwargs: object) -> None:
        self.protocols = protocols
        super().__init__(workdir, **kwargs)  # type: ignore[arg-type]

    def _write_config(self) -> None:
        super()._write_config()
        text = self.conf_path.read_text()
        extra = (
            f"http {{\n    ssl_protocols {self.protocols};\n    ssl_ciphers DEFAULT:@SECLEVEL=0;\n"
        )
        self.conf_path.write_text(text.replace("http {\n", extra, 1))


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.fixture(scope="module")
def servers(
    pki: TestPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[NginxServer, NginxServer]]:
    d = tmp_path_factory.mktemp("nginx-protocols")
    files = pki.write(d / "pki")
    common = {"cert": files["fullchainA.pem"], "key": files["leafA.key"]}
    with (
        _ProtocolNginx(d, protocols="TLSv1 TLSv1.1 TLSv1.2", host="127.0.0.4", **common) as old,
        _ProtocolNginx(d, protocols="TLSv1.2 TLSv1.3", host="127.0.0.5", **common) as modern,
    ):
        yield old, modern


async def test_old_versions_found_on_a_legacy_server(
    servers: tuple[NginxServer, NginxServer], pki: TestPki
) -> None:
    old, _ = servers
    found = await protocols_offered("127.0.0.4", old.port, "localhost", timeout=3)
    assert found.offered == ("TLSv1", "TLSv1.1", "TLSv1.2")
    assert found.refused == ("TLSv1.3",) and found.undetermined == ()
    violations = judge(
        (pki.leaf_a, pki.intermediate),
        policy=TrustPolicy(),
        host_name="localhost",
        anchors=[pki.root],
        revoked=(),
        now=dt.datetime.now(dt.UTC),
        protocols_offered=found.offered,
        system_roots=(),
    )
    assert [v.rule for v in violations] == [Rule.EXPIRES_SOON, Rule.OLD_PROTOCOL]  # 30-day leaf
    assert "TLSv1, TLSv1.1" in violations[1].message


async def test_modern_server_offers_nothing_old(
    servers: tuple[NginxServer, NginxServer], pki: TestPki
) -> None:
    _, modern = servers
    found = await protocols_offered("127.0.0.5", modern.port, None, timeout=3)
    assert found.offered == ("TLSv1.2", "TLSv1.3")
    assert found.refused == ("TLSv1", "TLSv1.1")
    violations = judge(
        (pki.leaf_a, pki.intermediate),
        policy=TrustPolicy(min_days_left=1),
        host_name="localhost",
        anchors=[pki.root],
        revoked=(),
        now=dt.datetime.now(dt.UTC),
        protocols_offered=found.offered,
        system_roots=(),
    )
    assert violations == []


async def test_closed_port_is_undetermined_fast() -> None:
    port = free_port("127.0.0.6")
    started = time.monotonic()
    found = await protocols_offered("127.0.0.6", port, versions=["TLSv1", "TLSv1.2"], timeout=2)
    assert time.monotonic() - started < 2
    assert found.offered == () and found.refused == ()
    assert [v for v, _ in found.undetermined] == ["TLSv1", "TLSv1.2"]
    assert "cannot connect" in found.undetermined[0][1]


async def test_bad_arguments() -> None:
    with pytest.raises(ValidationError) as err:
        await protocols_offered("127.0.0.1", 443, versions=["SSLv2"])
    assert err.value.field == "versions"
    with pytest.raises(ValidationError) as err:
        await protocols_offered("127.0.0.1", 0)
    assert err.value.field == "port"
    with pytest.raises(ValidationError) as err:
        await protocols_offered("127.0.0.1", 443, "x" * 70 + ".test")
    assert err.value.field == "sni"
