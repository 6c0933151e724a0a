"""Discovery test helpers: nginx on a loopback address serving the test PKI's leaf A."""

from __future__ import annotations

from pathlib import Path

from tests.factories.pki import TestPki
from tests.factories.servers import NginxServer


def leaf_a_nginx(pki: TestPki, folder: Path, host: str) -> NginxServer:
    """nginx on ``host`` serving leaf A with its intermediate (use it as a context manager)."""
    files = pki.write(folder / "pki")
    return NginxServer(folder, cert=files["fullchainA.pem"], key=files["leafA.key"], host=host)
