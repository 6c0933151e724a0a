"""Suite-wide fixtures: loopback-only network, real PostgreSQL, a database per test, homes."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite  # noqa: F401  (the database drivers load here, not inside a test's event loop)
import asyncpg  # noqa: F401
import pytest
import sqlalchemy.dialects.postgresql.asyncpg  # noqa: F401
import sqlalchemy.dialects.sqlite.aiosqlite  # noqa: F401

from tests.factories.postgres import create_database, postgres_server
from tests.loop_guard import (  # noqa: F401  (hooks: the loop-blocking guard of STYLE 7)
    install_handler,
    pytest_fixture_setup,
    pytest_runtest_setup,
    pytest_runtest_teardown,
)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# --- network: loopback and Unix sockets only (STYLE 4.5) ---------------------------------------
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0]
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise OSError(f"tests may only connect to loopback addresses, not {host!r}") from None
    if not ip.is_loopback and not (
        isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped and ip.ipv4_mapped.is_loopback
    ):
        raise OSError(f"tests may only connect to loopback addresses, not {host}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    guard = pytest.MonkeyPatch()  # for the whole session: never undone
    guard.setattr(socket.socket, "connect", _guarded_connect)
    guard.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    install_handler()


def require_tool(name: str) -> str:
    """Path of a command the test needs; a missing one fails the test (in CI and locally alike)."""
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if path is None:
        pytest.fail(
            f"{name} is not installed: run 'make test' (it installs every component the suite needs)"
        )
    return path


# --- databases -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    dsn = request.getfixturevalue("postgres_dsn")
    return create_database(dsn, "t_" + uuid.uuid4().hex[:16])


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Any]:
    from certmgr.controller.db.engine import Database

    database = await asyncio.to_thread(Database, database_url)  # creates the file, loads the driver
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture
def vault() -> Any:
    from certmgr.controller.vault import MasterKey

    return MasterKey.generate()
