"""PKI test files, made once per session (per xdist worker) by the real openssl, keytool and java."""

from __future__ import annotations

import time

import pytest

from tests.conftest import require_tool
from tests.factories.openssl_files import PkiFiles, make_pki_files


@pytest.fixture(scope="session")
def pki_files(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    tools = {name: require_tool(name) for name in ("openssl", "keytool", "java")}
    start = time.monotonic()
    files = make_pki_files(tmp_path_factory.mktemp("pki"), **tools)
    assert time.monotonic() - start < 60, "making the PKI test files took too long"
    return files
