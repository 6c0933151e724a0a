"""Agent settings: ``agent.toml`` plus ``CERTMGR_AGENT_*`` environment overrides, loaded once.

```toml
controller_url = "https://certmgr.example.net:23466"   # optional: enrolment records it
state_dir = "/var/lib/certmgr-agent"
agent_name = "web01"                                    # default: the short host name
poll_wait = 25                                          # long-poll seconds (default: the controller's)
discovery_interval = 86400                              # scan this host's TLS listeners daily (0: never)
discovery_ports = "443,8443"                            # default: discovery's usual set

[targets.web]                                           # "web" is the local target label
type = "nginx"
allowed_paths = ["/etc/nginx/tls"]                      # the only places packages may write
cert_path = "/etc/nginx/tls/site.crt"                   # any parameter of the target type
key_path = "/etc/nginx/tls/site.key"
```

Without ``allowed_paths`` a target may write exactly the files its local parameters declare.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from certmgr.shared.errors import ConfigurationError, ValidationError
from certmgr.shared.protocol import LABEL, MAX_POLL_WAIT, check_controller_url
from certmgr.shared.targets import TARGETS

DEFAULT_CONFIG: Final = Path("/etc/certmgr-agent/agent.toml")
DEFAULT_STATE_DIR: Final = Path("/var/lib/certmgr-agent")
ENV_PREFIX: Final = "CERTMGR_AGENT_"

_NUMBERS: Final = {
    "poll_wait": (1, MAX_POLL_WAIT),
    "inventory_interval": (1, 7 * 86400),
    "max_backoff": (0.01, 3600),
    "request_timeout": (0.1, 600),
    "discovery_interval": (0, 30 * 86400),
}
_TOP_KEYS: Final = {
    "controller_url",
    "state_dir",
    "agent_name",
    "discovery_ports",
    "targets",
    *_NUMBERS,
}
_PORTS: Final = re.compile(r"[0-9][0-9, -]*")


@dataclass(frozen=True)
class TargetConfig:
    """One ``[targets.<label>]`` table. ``params`` may hold passwords: hidden from ``repr``."""

    label: str
    type: str
    allowed_paths: tuple[str, ...]
    params: Mapping[str, Any] = field(repr=False, default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class AgentSettings:
    """Everything the agent reads from its configuration."""

    state_dir: Path = DEFAULT_STATE_DIR
    controller_url: str = ""  # "" = use the one recorded at enrolment
    agent_name: str = ""  # "" = the short host name
    poll_wait: int | None = None  # None = what the controller said at enrolment
    inventory_interval: float = 3600.0
    max_backoff: float = 60.0
    request_timeout: float = 30.0
    discovery_interval: float = 86400.0
    """Seconds between scans of this host's own TLS listeners (sent to the controller); 0: never."""
    discovery_ports: str = ""
    """Ports those scans try ("" = discovery's default set)."""
    targets: tuple[TargetConfig, ...] = ()
    config_path: Path | None = None

    def target(self, label: str) -> TargetConfig | None:
        """The target with this label, if configured."""
        return next((t for t in self.targets if t.label == label), None)


def load_settings(
    path: Path | str | None = None, env: Mapping[str, str] | None = None
) -> AgentSettings:
    """Read ``agent.toml`` and apply environment overrides.

    Args:
        path: The configuration file. None: ``$CERTMGR_AGENT_CONFIG``, else
            ``/etc/certmgr-agent/agent.toml`` when it exists, else built-in defaults.
        env: The environment (default ``os.environ``). ``CERTMGR_AGENT_CONTROLLER_URL``,
            ``_STATE_DIR``, ``_AGENT_NAME``, ``_POLL_WAIT``, ``_INVENTORY_INTERVAL``,
            ``_MAX_BACKOFF``, ``_REQUEST_TIMEOUT``, ``_DISCOVERY_INTERVAL`` and
            ``_DISCOVERY_PORTS`` override the file.

    Returns:
        The settings.

    Raises:
        ConfigurationError: The file is missing (when named), unreadable, not TOML, or holds
            an unknown key, a wrong value or an invalid target table.
    """
    env = os.environ if env is None else env
    named = path if path is not None else env.get(ENV_PREFIX + "CONFIG") or None
    config_path = Path(named) if named else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    doc: dict[str, Any] = {}
    if config_path is not None:
        try:
            doc = tomllib.loads(config_path.read_text(encoding="utf-8-sig"))  # a BOM is not TOML
        except OSError as err:
            raise ConfigurationError(f"cannot read {config_path}: {err.strerror}") from err
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigurationError(f"{config_path} is not valid TOML: {err}") from err
    for key in ("controller_url", "state_dir", "agent_name", "discovery_ports", *_NUMBERS):
        value = env.get(ENV_PREFIX + key.upper())
        if value:
            doc[key] = value
    return _settings(doc, config_path)


def _settings(doc: dict[str, Any], config_path: Path | None) -> AgentSettings:
    where = str(config_path or "settings")
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise ConfigurationError(f"{where}: unknown setting {unknown[0]!r}")
    values: dict[str, Any] = {"config_path": config_path}
    url = _text(doc, "controller_url", where)
    if url:
        try:
            values["controller_url"] = check_controller_url(url)
        except ValidationError as err:
            raise ConfigurationError(f"{where}: {err}") from err
    name = _text(doc, "agent_name", where)
    if name and not LABEL.fullmatch(name):
        raise ConfigurationError(f"{where}: agent_name may hold letters, digits, '.', '_', '-'")
    values["agent_name"] = name
    state_dir = _text(doc, "state_dir", where)
    if state_dir:
        if not posixpath.isabs(state_dir):
            raise ConfigurationError(f"{where}: state_dir must be an absolute path")
        values["state_dir"] = Path(state_dir)
    for key, (lo, hi) in _NUMBERS.items():
        if key in doc:
            values[key] = _number(doc[key], key, lo, hi, where)
    if "poll_wait" in values:
        values["poll_wait"] = int(values["poll_wait"])
    ports = _text(doc, "discovery_ports", where).strip()
    if ports and not _PORTS.fullmatch(ports):
        raise ConfigurationError(
            f'{where}: discovery_ports lists ports and ranges, such as "443,8443,9000-9010"'
        )
    values["discovery_ports"] = ports
    tables = doc.get("targets", {})
    if not isinstance(tables, dict):
        raise ConfigurationError(f"{where}: [targets] must hold tables")
    values["targets"] = tuple(_target(label, t, where) for label, t in tables.items())
    return AgentSettings(**values)


def _text(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}: {key} must be a string")
    return value.strip()


def _number(value: object, key: str, lo: float, hi: float, where: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigurationError(f"{where}: {key} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigurationError(f"{where}: {key} must be a number from {lo:g} to {hi:g}")
    return float(value)


def _target(label: str, table: object, where: str) -> TargetConfig:
    here = f"{where}: [targets.{label}]"
    if not LABEL.fullmatch(label):
        raise ConfigurationError(f"{here}: a label may hold letters, digits, '.', '_', '-'")
    if not isinstance(table, dict):
        raise ConfigurationError(f"{here} must be a table")
    params = dict(table)
    kind = params.pop("type", None)
    if not isinstance(kind, str) or kind not in TARGETS:
        raise ConfigurationError(f"{here}: type must be one of {', '.join(sorted(TARGETS))}")
    fields = {f.name: f for f in dataclasses.fields(TARGETS[kind].params_type)}
    for key in params:
        if key not in fields:
            raise ConfigurationError(f"{here}: {kind} has no parameter {key!r}")
    allowed = params.pop("allowed_paths", None)
    if allowed is None:
        allowed = [
            v for k, v in params.items() if fields[k].metadata.get("path") and isinstance(v, str)
        ]
        if not allowed:
            raise ConfigurationError(
                f"{here}: set allowed_paths (the files or directories packages may write)"
            )
    if not isinstance(allowed, list) or not all(isinstance(p, str) for p in allowed):
        raise ConfigurationError(f"{here}: allowed_paths must be a list of paths")
    for p in allowed:
        norm = posixpath.normpath(p) if posixpath.isabs(p) else ""
        if norm not in (p, p.rstrip("/")) or "\x00" in p:
            raise ConfigurationError(f"{here}: allowed path {p!r} must be absolute and normal")
    return TargetConfig(label, kind, tuple(allowed), MappingProxyType(params))
