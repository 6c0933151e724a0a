"""``certmgr init``: build a new home folder (config, master key, database, CA, console TLS, admin)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, all_tables_metadata
from certmgr.controller.domain.actors import Actor, Role, cli_actor
from certmgr.controller.services.acquisition.definitions import (
    DefinitionSpec,
    create_definition,
)
from certmgr.controller.services.acquisition.private_ca import (
    CaContext,
    IssueRequest,
    active_ca,
    issue_for_definitions,
    setup_root,
    unique_ca_subject,
)
from certmgr.controller.services.admin.console_tls import CONSOLE_DEFINITION, write_console_files
from certmgr.controller.services.admin.console_tls import write_atomic as _write
from certmgr.controller.services.admin.settings import ensure_metrics_token
from certmgr.controller.services.admin.users import (
    add_user,
    check_password_policy,
    generate_password,
)
from certmgr.controller.settings import (
    CONFIG_NAME,
    DEFAULT_LISTEN,
    Settings,
    load_settings,
    normalize_database_url,
    parse_hostport,
    render_config,
)
from certmgr.controller.vault import MasterKey, read_master_key, write_master_key
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import ConfigurationError, ConflictError, ValidationError
from certmgr.shared.pki import KeyType
from certmgr.shared.pki.names import normalize_dns_name

DEFAULT_CA_ORGANIZATION = "certmgr"

DEFAULT_IP_ACL = """# certmgr IP allow-list: one address or CIDR per line; '#' starts a comment.
# Edits take effect without a restart. Requests from other addresses get 403.
127.0.0.0/8
::1/128
10.0.0.0/8
172.16.0.0/12
192.168.0.0/16
fc00::/7
fe80::/10
"""


@dataclass(frozen=True)
class InitResult:
    """What ``init`` made."""

    home: Path
    admin_password: str | None
    ca_sha256: str
    console_url: str
    backup: Path | None


def _console_names(listen_host: str) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1"]
    for candidate in (socket.gethostname(), socket.getfqdn(), listen_host):
        if candidate and candidate not in ("0.0.0.0", "::") and candidate not in names:  # noqa: S104
            try:
                normalize_dns_name(candidate) if not _is_ip(candidate) else None
            except ValidationError:
                continue
            names.append(candidate)
    return names


def _is_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


async def init_home(
    home: Path,
    *,
    force: bool = False,
    listen: str = DEFAULT_LISTEN,
    database_url: str | None = None,
    admin_password: str | None = None,
    ca_subject: str | None = None,
    ca_key_type: str = KeyType.EC_P384.value,
    clock: Clock | None = None,
) -> InitResult:
    """Create a home folder; refuse to replace one unless ``force`` (then back it up first).

    Raises:
        ConflictError: The home (or the database) already exists and ``force`` is off.
        ConfigurationError: The folder or the database cannot be used.
        ValidationError: Bad listen address, CA subject or admin password.
    """
    clock = clock or SystemClock()
    host, port = parse_hostport(listen)
    if admin_password is not None:
        check_password_policy(admin_password, username="admin", field="admin_password")
    home = home.absolute()
    occupied = home.exists() and (not home.is_dir() or any(home.iterdir()))
    if occupied and not force:
        raise ConflictError(
            f"{home} already exists and is not empty; nothing was changed (use --force to replace it; a backup is kept)"
        )
    db_url = normalize_database_url(database_url) if database_url else None
    if db_url and not db_url.startswith("sqlite"):
        await _prepare_external_db(db_url, force=force, backup_to=home.parent)
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}.init-", dir=home.parent))
    try:
        os.chmod(staging, 0o700)
        # config.toml may hold a database password and the metrics token: 0600 like every secret.
        _write(
            staging / CONFIG_NAME,
            render_config(
                listen=f"{'[' + host + ']' if ':' in host else host}:{port}",
                database_url=database_url,
            ).encode("utf-8"),
            0o600,
        )
        vault = MasterKey.generate()
        write_master_key(staging / "master.key", vault)
        _write(staging / "ip_acl.txt", DEFAULT_IP_ACL.encode("utf-8"), 0o600)
        for sub in ("documents", "ca", "tls", "backups"):
            (staging / sub).mkdir(mode=0o700)
        settings = load_settings(staging)
        password = admin_password or generate_password()
        ca_sha = await _populate(
            settings,
            vault,
            password,
            must_change=admin_password is None,
            ca_subject=ca_subject or unique_ca_subject(DEFAULT_CA_ORGANIZATION, clock.now()),
            ca_key_type=ca_key_type,
            clock=clock,
        )
        backup = None
        if home.exists():
            stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
            backup = home.with_name(f"{home.name}.backup-{stamp}")
            home.rename(backup)
        staging.rename(home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final = load_settings(home)
    return InitResult(
        home=home,
        admin_password=None if admin_password else password,
        ca_sha256=ca_sha,
        console_url=final.public_url,
        backup=backup,
    )


async def _populate(
    settings: Settings,
    vault: MasterKey,
    password: str,
    *,
    must_change: bool,
    ca_subject: str,
    ca_key_type: str,
    clock: Clock,
) -> str:
    db = Database(settings.database_url)
    actor = cli_actor()
    try:
        await db.upgrade()
        ctx = CaContext(settings.ca_dir, settings.effective_crl_url)
        await setup_root(
            db, vault, actor, ctx, subject=ca_subject, key_type=ca_key_type, clock=clock
        )
        await add_user(
            db,
            actor,
            username="admin",
            role=Role.ADMIN,
            password=password,
            must_change_password=must_change,
            enforce_policy=False,
            clock=clock,
        )
        await ensure_metrics_token(db, vault, clock)
        await create_definition(
            db,
            actor,
            DefinitionSpec(
                name=CONSOLE_DEFINITION,
                common_name="localhost",
                sans=tuple(_console_names(settings.listen_host)),
                key_type=KeyType.EC_P256.value,
                issuer_kind="private-ca",
                notes="The controller's own HTTPS certificate (install target 'certmgr').",
            ),
            clock=clock,
        )
        await issue_for_definitions(
            db, vault, actor, ctx, [IssueRequest(CONSOLE_DEFINITION)], clock=clock
        )
        await write_console_tls(db, vault, settings)
        async with db.reader() as s:
            ca = await active_ca(s)
            cert = await s.get(Certificate, ca.certificate_id)
            assert cert is not None  # noqa: S101
            return cert.sha256
    finally:
        await db.dispose()


async def write_console_tls(db: Database, vault: MasterKey, settings: Settings) -> None:
    """Write the console's current certificate (full chain) and its key (encrypted PKCS#8) to ``tls/``.

    Raises:
        ConfigurationError: The console definition has no current certificate with a key.
    """
    await write_console_files(db, vault, settings)


async def _prepare_external_db(url: str, *, force: bool, backup_to: Path) -> None:
    """An external database must be empty of certmgr tables, unless ``force`` (then dump and drop them)."""
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        ours = tables & (set(all_tables_metadata().tables) | {"alembic_version"})
        if not ours:
            return
        if not force:
            raise ConflictError(
                "the database already holds certmgr tables; nothing was changed (use --force to replace them; a dump is kept)"
            )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        dump = backup_to / f"certmgr-db-dump-{stamp}.jsonl"
        async with db.engine.begin() as conn:
            await conn.run_sync(_dump_and_drop, dump, ours)
    except OSError as err:
        raise ConfigurationError(f"cannot prepare the database: {err.__class__.__name__}") from err
    finally:
        await db.dispose()


def _dump_and_drop(conn: Connection, dump: Path, present: set[str]) -> None:
    fd = os.open(dump, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for table in all_tables_metadata().sorted_tables:
            if table.name not in present:
                continue
            for row in conn.execute(select(table)).mappings():
                fh.write(
                    json.dumps(
                        {"table": table.name, "row": {k: _jsonable(v) for k, v in row.items()}}
                    )
                    + "\n"
                )
    for table in reversed(all_tables_metadata().sorted_tables):
        if table.name in present:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
    conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return {"b64": base64.b64encode(v).decode()}
    if isinstance(v, dt.datetime):
        return v.isoformat()
    return v


def open_vault(settings: Settings) -> MasterKey:
    """Read the master key of a home.

    Raises:
        ConfigurationError: Missing or unsafe key file.
    """
    return read_master_key(settings.master_key_path)


SYSTEM_ACTOR = Actor(name="system", role=Role.SYSTEM, source="controller")
