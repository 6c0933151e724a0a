"""``[backup]`` in ``config.toml``: scheduled backups, retention and the PostgreSQL tools."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from certmgr.controller.settings import Settings
from certmgr.shared.errors import ConfigurationError
from certmgr.shared.text import passphrase_line

PASSPHRASE_ENV = "CERTMGR_BACKUP_PASSPHRASE"  # noqa: S105 - the variable's name


@dataclass(frozen=True)
class BackupConfig:
    """Scheduled backups: off unless ``enabled``; ``keep`` newest files stay in ``folder``."""

    enabled: bool = False
    interval_hours: int = 24
    keep: int = 7
    folder: Path | None = None
    passphrase_file: Path | None = None
    include_master_key: bool = False
    pg_dump: str = ""
    psql: str = ""


def load_backup_config(settings: Settings) -> BackupConfig:
    """Read ``[backup]`` (relative paths are inside the home).

    Raises:
        ConfigurationError: A value of the wrong type, naming the key.
    """
    raw = settings.extra.get("backup", {})
    if not isinstance(raw, dict):
        raise ConfigurationError("config.toml: [backup] must be a table")

    def flag(name: str, default: bool) -> bool:
        v = raw.get(name, default)
        if not isinstance(v, bool):
            raise ConfigurationError(f"config.toml: [backup] {name} must be true or false")
        return v

    def number(name: str, default: int, top: int) -> int:
        v = raw.get(name, default)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= top:
            raise ConfigurationError(f"config.toml: [backup] {name} must be a whole number 1-{top}")
        return v

    def path(name: str) -> Path | None:
        v = raw.get(name, "")
        if not isinstance(v, str):
            raise ConfigurationError(f"config.toml: [backup] {name} must be a path (text)")
        return (settings.home / v) if v else None

    def tool(name: str) -> str:
        v = raw.get(name, "")
        if not isinstance(v, str):
            raise ConfigurationError(f"config.toml: [backup] {name} must be a path (text)")
        return v

    return BackupConfig(
        enabled=flag("enabled", False),
        interval_hours=number("interval_hours", 24, 24 * 366),
        keep=number("keep", 7, 10_000),
        folder=path("folder"),
        passphrase_file=path("passphrase_file"),
        include_master_key=flag("include_master_key", False),
        pg_dump=tool("pg_dump"),
        psql=tool("psql"),
    )


def scheduled_passphrase(cfg: BackupConfig) -> bytes:
    """The passphrase of scheduled backups: ``$CERTMGR_BACKUP_PASSPHRASE``, else ``passphrase_file``.

    Raises:
        ConfigurationError: Neither is set, or the file cannot be read.
    """
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env.encode("utf-8")
    if cfg.passphrase_file is None:
        raise ConfigurationError(
            f"scheduled backups need a passphrase: set [backup] passphrase_file or ${PASSPHRASE_ENV}"
        )
    try:
        return passphrase_line(cfg.passphrase_file.read_bytes())
    except OSError as err:
        raise ConfigurationError(
            f"cannot read the backup passphrase file {cfg.passphrase_file}: {err.strerror}"
        ) from err
