"""A throw-away PostgreSQL server on loopback (RECIPES.md), one per test process."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries are missing (apt-get install postgresql; 'make test' does it)"
        )
    return Path(found[-1]).parent


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start PostgreSQL; yields the base DSN (``postgresql://postgres@127.0.0.1:PORT``)."""
    bindir = pg_bin()
    d = Path(tempfile.mkdtemp(prefix="cm-pg."))
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(d, "postgres", "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    port = free_port()
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(d / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    opts = f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(d / "data"),
            "-l",
            str(d / "pg.log"),
            "-w",
            "-s",
            "start",
            "-o",
            opts,
        ],
        check=True,
    )
    try:
        deadline = time.monotonic() + 60  # a loaded host starts PostgreSQL slowly
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1),
            ):
                break
            time.sleep(0.05)
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [
                *prefix,
                str(bindir / "pg_ctl"),
                "-D",
                str(d / "data"),
                "-m",
                "immediate",
                "-s",
                "stop",
            ],
            check=False,
        )
        shutil.rmtree(d, ignore_errors=True)


def create_database(base_dsn: str, name: str) -> str:
    """CREATE DATABASE ``name``; returns its asyncpg SQLAlchemy URL."""
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(base_dsn + "/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    return base_dsn.replace("postgresql://", "postgresql+asyncpg://") + "/" + name
