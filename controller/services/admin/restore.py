"""Verify a backup file and restore it into a new home (migrating the database when it is older).

A backup is read twice: the first pass authenticates every chunk and checks every member against
the manifest without writing anything, so a truncated, altered or wrong-passphrase file is refused
before the target is touched. The second pass writes into a hidden folder beside the target, the
database is loaded and migrated there, and only then is the folder renamed to the target: a restore
that stops midway leaves the target absent or empty.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import all_tables_metadata
from certmgr.controller.services.admin.backup import DB_MEMBER, MANIFEST
from certmgr.controller.services.admin.backup_db import (
    POSTGRESQL,
    SQLITE,
    pg_load,
    sqlite_check,
)
from certmgr.controller.services.admin.backup_file import (
    DamagedBackupError,
    DecryptingReader,
    decrypt_chunks,
    derive_key,
    read_header,
)
from certmgr.controller.settings import (
    CA_DIR,
    CONFIG_NAME,
    DB_NAME,
    MASTER_KEY_NAME,
    TLS_DIR,
    load_settings,
    normalize_database_url,
)
from certmgr.controller.vault import read_master_key
from certmgr.shared.errors import ConfigurationError, ConflictError, InputError
from certmgr.shared.secret import Secret

_MAX_MEMBERS = 1_000_000
_PUBLIC = (f"{CA_DIR}/", "oneclick/", f"{TLS_DIR}/console.pem")
Step = Callable[[str], None]


@dataclass(frozen=True)
class BackupInfo:
    """What a verified backup holds."""

    created_at: str
    certmgr_version: str
    schema_revision: str | None
    database: str
    master_key_included: bool
    files: int
    size: int
    manifest: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class RestoreOutcome:
    """A home restored."""

    home: Path
    info: BackupInfo
    revision_before: str | None
    revision_after: str | None
    database_url: str


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return False
    return (
        name == MANIFEST
        or name in DB_MEMBER.values()
        or (p.parts[0] == "home" and len(p.parts) > 1)
    )


KeyCache = dict[bytes, Secret[bytes]]


def _read(
    path: Path,
    passphrase: bytes,
    visit: Callable[[str, bytes], None],
    keys: KeyCache | None = None,
) -> dict[str, Any]:
    """Decrypt ``path``, call ``visit`` on every member checked so far; returns the manifest."""
    try:
        fh = path.open("rb")
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from err
    with fh:
        header = read_header(fh)
        cache: KeyCache = {} if keys is None else keys
        key = cache.get(header.pack()) or derive_key(passphrase, header)
        cache[header.pack()] = key  # a restore reads the file twice: Argon2id runs once
        reader = DecryptingReader(decrypt_chunks(fh, key, header))
        seen: dict[str, str] = {}
        manifest: dict[str, Any] | None = None
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for n, member in enumerate(tar):
                    if n > _MAX_MEMBERS or not member.isfile() or not _safe_member(member.name):
                        raise DamagedBackupError(
                            f"the backup holds an unexpected entry {member.name!r}"
                        )
                    src = tar.extractfile(member)
                    data = src.read() if src is not None else b""
                    if member.name == MANIFEST:
                        manifest = json.loads(data)
                        continue
                    seen[member.name] = hashlib.sha256(data).hexdigest()
                    visit(member.name, data)
            reader.drain()
        except (tarfile.TarError, ValueError, EOFError) as err:
            raise DamagedBackupError(f"the backup's content is damaged: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise DamagedBackupError("the backup has no manifest (it is incomplete)")
    listed = {k: v.get("sha256") for k, v in manifest.get("files", {}).items()}
    if listed != seen:
        raise DamagedBackupError("the backup's content does not match its manifest")
    return manifest


def _info(path: Path, manifest: dict[str, Any]) -> BackupInfo:
    return BackupInfo(
        created_at=str(manifest.get("created_at", "")),
        certmgr_version=str(manifest.get("certmgr_version", "")),
        schema_revision=manifest.get("schema_revision"),
        database=str(manifest.get("database", "")),
        master_key_included=bool(manifest.get("master_key_included")),
        files=len(manifest.get("files", {})),
        size=path.stat().st_size,
        manifest=manifest,
    )


def verify_backup_file(path: Path, passphrase: bytes, keys: KeyCache | None = None) -> BackupInfo:
    """Prove a backup whole and readable: every chunk authenticated, every file as listed, the database sound.

    Blocking (Argon2id, decryption): run it in a worker thread.

    Raises:
        WrongPasswordError: Wrong passphrase.
        DamagedBackupError: Not a backup, truncated, altered or incomplete.
        InputError: Unreadable file or a damaged database inside.
    """

    def check(name: str, data: bytes) -> None:
        if name == DB_MEMBER[SQLITE]:
            sqlite_check(data)

    return _info(path, _read(path, passphrase, check, keys))


def check_target(home: Path) -> None:
    """Refuse a target that exists and is not an empty folder (a home in use is never overwritten).

    Raises:
        ConflictError: The target is a file, a home or a folder with something in it.
    """
    if not home.exists():
        return
    if not home.is_dir():
        raise ConflictError(f"{home} exists and is not a folder; nothing was restored")
    if (home / CONFIG_NAME).exists():
        raise ConflictError(
            f"{home} is a certmgr home; restore refuses to overwrite a home (choose a new folder)"
        )
    if any(home.iterdir()):
        raise ConflictError(f"{home} is not empty; restore needs a new or empty folder")


def _member_mode(rel: str) -> int:
    return 0o644 if rel.startswith(_PUBLIC) else 0o600


def _write_private(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def set_database_url(config: str, url: str) -> str:
    """``config.toml`` text with ``[database] url`` set to ``url`` (the line replaced or added)."""
    lines = config.splitlines()
    new = f"url = {json.dumps(url)}"
    start = next((i for i, line in enumerate(lines) if line.strip() == "[database]"), None)
    if start is None:
        return config.rstrip("\n") + f"\n\n[database]\n{new}\n"
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines)
    )
    for i in range(start + 1, end):
        if re.match(r"\s*url\s*=", lines[i]):
            lines[i] = new
            break
    else:
        lines.insert(start + 1, new)
    return "\n".join(lines) + "\n"


async def _empty_database(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    except (SQLAlchemyError, OSError) as err:
        raise ConfigurationError(
            f"cannot open the target database: {err.__class__.__name__}"
        ) from err
    finally:
        await db.dispose()
    if tables:
        raise ConflictError(
            "the target database is not empty; restore needs a new, empty database (nothing was restored)"
        )


async def _drop_restored(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            for table in reversed(all_tables_metadata().sorted_tables):
                await conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await db.dispose()


async def restore_backup(
    path: Path,
    passphrase: bytes,
    home: Path,
    *,
    database_url: str | None = None,
    master_key_file: Path | None = None,
    psql_tool: str = "",
    step: Step | None = None,
) -> RestoreOutcome:
    """Restore ``path`` into the new home ``home``; migrate the database to the newest schema.

    Args:
        path: The backup file.
        passphrase: Its passphrase.
        home: A folder that does not exist or is empty.
        database_url: For a PostgreSQL backup: a new, empty database to load it into.
        master_key_file: The old home's master key, when the backup does not hold it.
        psql_tool: Path of ``psql`` (default: the newest installed).
        step: Called with the name of each step (progress; a seam for fault tests).

    Returns:
        What was restored.

    Raises:
        ConflictError: The target folder or database is in use or not empty.
        WrongPasswordError: Wrong passphrase.
        DamagedBackupError: Truncated, altered or incomplete backup.
        InputError: Missing master key or a database URL of the wrong kind.
        ConfigurationError: The database cannot be loaded or migrated.
    """
    tell = step or (lambda _s: None)
    await asyncio.to_thread(check_target, home)
    tell("verify")
    keys: KeyCache = {}
    info = await asyncio.to_thread(verify_backup_file, path, passphrase, keys)
    url = _target_url(info, database_url)
    key_bytes = await asyncio.to_thread(_master_key_bytes, info, master_key_file)
    if url is not None:
        await _empty_database(url)
    final_url = url or f"sqlite+aiosqlite:///{DB_NAME}"
    staging = await asyncio.to_thread(_staging, home)
    loaded = False
    try:
        tell("files")
        dump = await asyncio.to_thread(
            _extract, path, passphrase, staging, key_bytes, final_url, keys
        )
        tell("database")
        if url is not None:
            loaded = True
            await asyncio.to_thread(pg_load, url, dump, psql_tool)
        settings = await asyncio.to_thread(load_settings, staging)
        await asyncio.to_thread(read_master_key, settings.master_key_path)
        db = Database(settings.database_url)
        try:
            before = await db.current_revision()
            tell("migrate")
            await db.upgrade()
            after = await db.current_revision()
        finally:
            await db.dispose()
        tell("rename")
        await asyncio.to_thread(_install, staging, home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if loaded and url is not None:
            await _drop_restored(url)
        raise
    return RestoreOutcome(staging_target(home), info, before, after, final_url)


def _target_url(info: BackupInfo, database_url: str | None) -> str | None:
    url = normalize_database_url(database_url) if database_url else None
    if info.database == POSTGRESQL:
        if url is None or not url.startswith("postgresql"):
            raise InputError(
                "this backup holds a PostgreSQL database: give --database-url of a new, empty "
                "PostgreSQL database to restore it into"
            )
        return url
    if info.database != SQLITE:
        raise DamagedBackupError(f"the backup's database kind {info.database!r} is unknown")
    if url is not None and not url.startswith("sqlite"):
        raise InputError(
            "this backup holds a SQLite database; it is restored into the new home "
            "(leave out --database-url)"
        )
    return None


def _master_key_bytes(info: BackupInfo, master_key_file: Path | None) -> bytes | None:
    if master_key_file is not None:
        if info.master_key_included:
            raise InputError("the backup holds its master key; leave out --master-key")
        read_master_key(master_key_file)  # refuses a file that is not a master key
        return master_key_file.read_bytes()
    if not info.master_key_included:
        raise InputError(
            "the backup does not hold the master key: give --master-key with the old home's "
            "master.key (without it no private key could be unsealed); nothing was restored"
        )
    return None


def staging_target(home: Path) -> Path:
    """The absolute target folder."""
    return home.absolute()


def _staging(home: Path) -> Path:
    home = staging_target(home)
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}.restore-", dir=home.parent))
    os.chmod(staging, 0o700)
    return staging


def _install(staging: Path, home: Path) -> None:
    home = staging_target(home)
    if home.exists():
        home.rmdir()  # empty (checked before): fails, keeping it, if something appeared since
    staging.rename(home)


def _extract(
    path: Path,
    passphrase: bytes,
    staging: Path,
    key_bytes: bytes | None,
    url: str,
    keys: KeyCache | None = None,
) -> bytes:
    """Write the home's files into ``staging`` (config pointed at ``url``); returns a PostgreSQL dump."""
    dump: list[bytes] = []

    def put(name: str, data: bytes) -> None:
        if name == DB_MEMBER[SQLITE]:
            _write_private(staging / DB_NAME, data, 0o600)
        elif name == DB_MEMBER[POSTGRESQL]:
            dump.append(data)
        else:
            rel = name.split("/", 1)[1]
            _write_private(staging / rel, data, _member_mode(rel))

    _read(path, passphrase, put, keys)
    if key_bytes is not None:
        _write_private(staging / MASTER_KEY_NAME, key_bytes, 0o600)
    cfg = staging / CONFIG_NAME
    cfg.write_text(set_database_url(cfg.read_text(encoding="utf-8"), url), encoding="utf-8")
    cfg.chmod(0o600)
    (staging / "backups").mkdir(mode=0o700, exist_ok=True)
    return dump[0] if dump else b""
