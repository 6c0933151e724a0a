"""The installer's own configuration on the target host: what a package may never say.

A package carries data only (DESIGN section 8). Commands, programs, configuration files, owners,
modes and the allowed paths come from the plugin's defaults or from this file, which belongs to
the host, not to the package: ``--config FILE``, else ``$CERTMGR_ONECLICK_CONFIG``, else
``/etc/certmgr/oneclick.toml`` when it exists. One table per target type, with the parameter
names of ``agent.toml``::

    [nginx]
    allowed_paths = ["/etc/nginx/tls"]      # where packages may write (default: /etc/nginx)
    nginx_binary = "/usr/local/sbin/nginx"

    [files]
    allowed_paths = ["/etc/postfix/tls"]    # the files target has no default folder
    reload_cmd = ["systemctl", "reload", "postfix"]

``--allow-path`` on the command line replaces ``allowed_paths``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from certmgr.shared.errors import InputError
from certmgr.shared.targets import TARGETS

DEFAULT_CONFIG: Final = Path("/etc/certmgr/oneclick.toml")
ENV_CONFIG: Final = "CERTMGR_ONECLICK_CONFIG"
_MAX_SIZE: Final = 1024 * 1024


@dataclass(frozen=True)
class LocalConfig:
    """Per target type, the host's own parameter values (may hold passwords: no ``repr``)."""

    path: Path | None = None
    tables: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )

    def params_for(self, target_type: str) -> dict[str, Any]:
        """The host's values for ``target_type`` (empty when the file has no table for it)."""
        return dict(self.tables.get(target_type, {}))


def config_path(option: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The configuration file to read: the option, the environment, or the default if present."""
    env = os.environ if env is None else env
    if option is not None:
        return option
    named = env.get(ENV_CONFIG, "").strip()
    if named:
        return Path(named)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_local_config(path: Path | None) -> LocalConfig:
    """Read the host's installer configuration (None: no file, plugin defaults only).

    Raises:
        InputError: The file cannot be read, is not TOML, or names an unknown target type or
            parameter.
    """
    if path is None:
        return LocalConfig()
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_SIZE + 1)
        if len(raw) > _MAX_SIZE:
            raise InputError(f"the configuration {path} is too large")
        # -sig: a byte-order mark (Notepad on Windows writes one) is not part of the TOML
        doc = tomllib.loads(raw.decode("utf-8-sig"))
    except OSError as err:
        raise InputError(f"cannot read the configuration {path}: {err.strerror}") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"the configuration {path} is not valid TOML: {err}") from err
    tables: dict[str, Mapping[str, Any]] = {}
    for kind, table in doc.items():
        cls = TARGETS.get(kind)
        if cls is None or not isinstance(table, dict):
            raise InputError(
                f"{path}: [{kind}] is not a target type (use {', '.join(sorted(TARGETS))})"
            )
        names = {f.name for f in dataclasses.fields(cls.params_type)}
        unknown = sorted(set(table) - names)
        if unknown:
            raise InputError(f"{path}: [{kind}] has no parameter {unknown[0]!r}")
        tables[kind] = MappingProxyType(dict(table))
    return LocalConfig(path, MappingProxyType(tables))
