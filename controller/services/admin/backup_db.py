"""Database snapshots for backups and their loading on restore: SQLite's online backup API, ``pg_dump``/``psql``.

Every function here blocks (file, subprocess, SQLite): callers run them in a worker thread.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from certmgr.shared.errors import ConfigurationError, InputError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
_TIMEOUT = 3600


def database_kind(url: str) -> str:
    """``sqlite`` or ``postgresql``.

    Raises:
        ConfigurationError: Another database.
    """
    if url.startswith("sqlite"):
        return SQLITE
    if url.startswith(("postgresql", "postgres")):
        return POSTGRESQL
    raise ConfigurationError("backups support SQLite and PostgreSQL databases only")


def sqlite_snapshot(path: Path) -> bytes:
    """A consistent copy of a live SQLite database (online backup API), in memory.

    Writers keep going while it runs (WAL); the copy is one point in time.

    Raises:
        ConfigurationError: The database cannot be read.
    """
    if not path.is_file():
        raise ConfigurationError(f"the database file {path} is missing")
    try:
        src = sqlite3.connect(str(path), timeout=30)
        try:
            dst = sqlite3.connect(":memory:")
            try:
                src.backup(dst)  # all pages in one step: one read transaction, one snapshot
                image = bytearray(dst.serialize())
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as err:
        raise ConfigurationError(f"cannot read the database for the backup: {err}") from err
    # Header bytes 18-19 say "WAL" (copied from the live file); a lone copy is a rollback-journal
    # file (1, 1), which every SQLite opens, in memory too. The controller turns WAL on again.
    if len(image) >= 20 and image[:16] == b"SQLite format 3\x00":
        image[18:20] = b"\x01\x01"
    return bytes(image)


def sqlite_check(data: bytes) -> None:
    """Open a SQLite image in memory and run its integrity check.

    Raises:
        InputError: The image is not a sound SQLite database.
    """
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(data)
        row = conn.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.Error as err:
        raise InputError(f"the database in the backup is damaged: {err}") from err
    finally:
        conn.close()
    if not row or row[0] != "ok":
        raise InputError(f"the database in the backup is damaged: {row[0] if row else '?'}")


def pg_tool(name: str, configured: str = "") -> str:
    """Path of ``pg_dump`` or ``psql``: the configured one, else the newest server install, else PATH.

    Raises:
        ConfigurationError: Not installed.
    """
    if configured:
        return configured
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parents[1].name) if Path(p).parents[1].name.isdigit() else 0,
    )
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise ConfigurationError(
            f"{name} is not installed (install the PostgreSQL client of the server's version, "
            f"or set [backup] {name.replace('_', '')} in config.toml)"
        )
    return path


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_dump(url: str, tool: str = "") -> bytes:
    """A plain SQL dump of the database (one consistent snapshot), owner- and grant-free.

    Raises:
        ConfigurationError: ``pg_dump`` is missing or fails.
    """
    dsn, env = _libpq(url)
    exe = pg_tool("pg_dump", tool)
    try:
        res = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [exe, "--no-owner", "--no-privileges", "--dbname", dsn],
            capture_output=True,
            env=env,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigurationError(f"pg_dump could not run: {err.__class__.__name__}") from err
    if res.returncode != 0:
        raise ConfigurationError(f"pg_dump failed: {_first_line(res.stderr)}")
    return res.stdout


def pg_load(url: str, sql: bytes, tool: str = "") -> None:
    """Load a dump into an (empty) database in one transaction: all of it or nothing.

    Raises:
        ConfigurationError: ``psql`` is missing or the load fails (the database is left unchanged).
    """
    dsn, env = _libpq(url)
    exe = pg_tool("psql", tool)
    try:
        res = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [
                exe,
                "-q",
                "-X",
                "--single-transaction",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                dsn,
                "-f",
                "-",
            ],
            input=sql,
            capture_output=True,
            env=env,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigurationError(f"psql could not run: {err.__class__.__name__}") from err
    if res.returncode != 0:
        raise ConfigurationError(
            f"loading the database failed (nothing was kept): {_first_line(res.stderr)}"
        )


def _first_line(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return (text.splitlines() or ["no message"])[0][:300]
