"""Fixtures of the end-to-end agent tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.controller_proc import Controller
from tests.factories.homes import make_home
from tests.factories.postgres import free_port


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    port = free_port()
    home = make_home(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", listen=f"127.0.0.1:{port}"
    )
    c = Controller(home, port, tmp_path / "serve.log")
    c.start()
    try:
        yield c
    finally:
        c.stop()
    assert "Traceback" not in c.log.read_text()
