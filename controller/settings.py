"""Controller settings: loaded once from ``config.toml`` plus environment, then passed down."""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certmgr.shared.errors import ConfigurationError

DEFAULT_LISTEN = "127.0.0.1:23466"
CONFIG_NAME = "config.toml"
MASTER_KEY_NAME = "master.key"
DB_NAME = "certmgr.db"
TLS_DIR = "tls"
CA_DIR = "ca"
DOCUMENTS_DIR = "documents"
BACKUPS_DIR = "backups"
IP_ACL_NAME = "ip_acl.txt"


def default_home() -> Path:
    """``$CERTMGR_HOME``, else ``./certmgr-home``."""
    return Path(os.environ.get("CERTMGR_HOME") or "certmgr-home")


def parse_hostport(value: str, *, default_port: int | None = None) -> tuple[str, int]:
    """Parse ``host:port``, ``[v6]:port`` or (with a default port) a bare host.

    Raises:
        ConfigurationError: The value is not a host and port.
    """
    v = value.strip()
    host: str
    port_s: str | None
    if v.startswith("["):
        end = v.find("]")
        if end < 0:
            raise ConfigurationError(f"bad address {value!r}: missing ']'")
        host, rest = v[1:end], v[end + 1 :]
        port_s = rest[1:] if rest.startswith(":") else None
    elif v.count(":") == 1:
        host, port_s = v.split(":")
    else:
        host, port_s = v, None
    if port_s is None:
        if default_port is None:
            raise ConfigurationError(f"bad address {value!r}: expected HOST:PORT")
        return host, default_port
    try:
        port = int(port_s)
    except ValueError:
        raise ConfigurationError(f"bad address {value!r}: port is not a number") from None
    if not 0 < port < 65536 or not host:
        raise ConfigurationError(f"bad address {value!r}: expected HOST:PORT with port 1-65535")
    return host, port


@dataclass(frozen=True)
class Settings:
    """Everything the controller reads from its home folder and environment."""

    home: Path
    listen_host: str = "127.0.0.1"
    listen_port: int = 23466
    database_url: str = ""
    external_url: str = ""
    crl_url: str = ""
    trusted_proxies: tuple[str, ...] = ()
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    log_level: str = "INFO"
    log_format: str = "text"  # text | json (one JSON object a line)
    tls_reload_seconds: float = 60.0
    http01_listen: str = ""
    agent_poll_wait: int = 25
    zeroconf_interfaces: tuple[str, ...] = ()
    scheduler_enabled: bool = True
    scheduler_replica_id: str = ""
    scheduler_tick_seconds: float = 15.0
    scheduler_batch_size: int = 100
    scheduler_batch_lease_seconds: float = 120.0
    metrics_token: str = field(default="", repr=False)
    extra: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def config_path(self) -> Path:
        """Path of ``config.toml``."""
        return self.home / CONFIG_NAME

    @property
    def master_key_path(self) -> Path:
        """Path of the master key file."""
        return self.home / MASTER_KEY_NAME

    @property
    def tls_dir(self) -> Path:
        """Folder of the console's own certificate."""
        return self.home / TLS_DIR

    @property
    def ca_dir(self) -> Path:
        """Folder of the private CA's public files (certificate, CRL)."""
        return self.home / CA_DIR

    @property
    def documents_dir(self) -> Path:
        """Folder of the per-definition document folders."""
        return self.home / DOCUMENTS_DIR

    @property
    def backups_dir(self) -> Path:
        """Folder of backups."""
        return self.home / BACKUPS_DIR

    @property
    def ip_acl_path(self) -> Path:
        """Path of the IP allow-list."""
        return self.home / IP_ACL_NAME

    @property
    def public_url(self) -> str:
        """The console's URL as users and e-mails see it."""
        if self.external_url:
            return self.external_url.rstrip("/")
        host = self.listen_host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only to build a display URL
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.listen_port}"

    @property
    def effective_crl_url(self) -> str:
        """URL written into issued certificates' CRL distribution point."""
        return self.crl_url or f"{self.public_url}/pki/crl.der"


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite+aiosqlite:///{path.resolve()}"


def normalize_database_url(url: str) -> str:
    """Add the async driver to plain ``postgresql://`` and ``sqlite://`` URLs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    return url


def load_settings(
    home: Path, *, listen: str | None = None, trusted_proxies: Sequence[str] = ()
) -> Settings:
    """Read ``config.toml`` from ``home`` and apply environment overrides.

    Environment: ``CERTMGR_DATABASE_URL`` overrides ``[database] url``. ``listen`` replaces
    ``[server] listen``; ``trusted_proxies`` (``serve --trusted-proxy``) add to the file's.

    Raises:
        ConfigurationError: No usable home folder or a malformed file.
    """
    path = home / CONFIG_NAME
    if not path.is_file():
        raise ConfigurationError(
            f"{home} is not a certmgr home (no {CONFIG_NAME}); run 'certmgr init --home {home}' first"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is not TOML
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigurationError(f"{path} is not valid TOML: {err}") from err
    server = _table(data, "server")
    database = _table(data, "database")
    ca = _table(data, "ca")
    acme = _table(data, "acme")
    http01 = str(os.environ.get("CERTMGR_HTTP01_LISTEN") or acme.get("http01_listen", "") or "")
    if http01:
        parse_hostport(http01)
    host, port = parse_hostport(listen or str(server.get("listen", DEFAULT_LISTEN)))
    db_url = os.environ.get("CERTMGR_DATABASE_URL") or str(database.get("url", "") or "")
    if not db_url:
        db_url = sqlite_url(home / DB_NAME)
    elif (
        db_url.startswith("sqlite")
        and ":///" in db_url
        and not db_url.split(":///", 1)[1].startswith("/")
    ):
        db_url = sqlite_url(home / db_url.split(":///", 1)[1])
    proxies = server.get("trusted_proxies", [])
    if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
        raise ConfigurationError(
            f"{path}: [server] trusted_proxies must be a list of addresses or CIDRs"
        )
    for where, listed in (
        (f"{path}: trusted proxy", proxies),
        ("--trusted-proxy", trusted_proxies),
    ):
        for p in listed:
            try:
                ipaddress.ip_network(p, strict=False)
            except ValueError:
                raise ConfigurationError(f"{where} {p!r} is not an address or CIDR") from None
    proxies = [*proxies, *trusted_proxies]
    return Settings(
        home=home.resolve(),
        listen_host=host,
        listen_port=port,
        database_url=normalize_database_url(db_url),
        external_url=str(server.get("external_url", "") or ""),
        crl_url=str(ca.get("crl_url", "") or ""),
        trusted_proxies=tuple(proxies),
        session_idle_minutes=_int(server, "session_idle_minutes", 30, path),
        session_max_hours=_int(server, "session_max_hours", 12, path),
        log_level=str(data.get("log_level", "INFO")),
        **_server_extras(data, server, path),
        http01_listen=http01,
        agent_poll_wait=_int(_table(data, "agents"), "poll_wait", 25, path),
        zeroconf_interfaces=_str_list(_table(data, "agents"), "zeroconf_interfaces", path),
        **_scheduler_and_metrics(data, path),
        extra=data,
    )


def _server_extras(
    data: dict[str, object], server: dict[str, object], path: Path
) -> dict[str, Any]:
    """``log_format`` (text or json; ``CERTMGR_LOG_FORMAT`` overrides) and ``[server] tls_reload_seconds``."""
    fmt = os.environ.get("CERTMGR_LOG_FORMAT") or data.get("log_format", "text")
    if fmt not in ("text", "json"):
        raise ConfigurationError(f'{path}: log_format must be "text" or "json"')
    every = server.get("tls_reload_seconds", 60)
    if not isinstance(every, int | float) or isinstance(every, bool) or not 0 < every <= 86400:
        raise ConfigurationError(f"{path}: [server] tls_reload_seconds must be between 0 and 86400")
    return {"log_format": fmt, "tls_reload_seconds": float(every)}


def _scheduler_and_metrics(data: dict[str, object], path: Path) -> dict[str, Any]:
    """``[scheduler] enabled, replica_id, tick_seconds`` and ``[metrics] token``."""
    scheduler = _table(data, "scheduler")
    metrics = _table(data, "metrics")
    enabled = scheduler.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigurationError(f"{path}: [scheduler] enabled must be true or false")
    tick = scheduler.get("tick_seconds", 15.0)
    if not isinstance(tick, int | float) or isinstance(tick, bool) or not 0 < tick <= 3600:
        raise ConfigurationError(f"{path}: [scheduler] tick_seconds must be between 0 and 3600")
    replica = scheduler.get("replica_id", "")
    token = metrics.get("token", "")
    batch_size = _int(scheduler, "batch_size", 100, path)
    batch_lease = scheduler.get("batch_lease_seconds", 120)
    if (
        not isinstance(batch_lease, int | float)
        or isinstance(batch_lease, bool)
        or not 0 < batch_lease <= 3600
    ):
        raise ConfigurationError(
            f"{path}: [scheduler] batch_lease_seconds must be between 0 and 3600"
        )
    if not isinstance(replica, str) or len(replica) > 100:
        raise ConfigurationError(f"{path}: [scheduler] replica_id must be text (up to 100)")
    if not isinstance(token, str):
        raise ConfigurationError(f"{path}: [metrics] token must be text")
    return {
        "scheduler_enabled": enabled,
        "scheduler_replica_id": replica.strip(),
        "scheduler_tick_seconds": float(tick),
        "scheduler_batch_size": batch_size,
        "scheduler_batch_lease_seconds": float(batch_lease),
        "metrics_token": token.strip(),
    }


def _int(table: dict[str, object], name: str, default: int, path: Path) -> int:
    value = table.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigurationError(f"{path}: {name} must be a positive whole number")
    return value


def _str_list(table: dict[str, object], name: str, path: Path) -> tuple[str, ...]:
    value = table.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{path}: {name} must be a list of strings")
    return tuple(value)


def _table(data: dict[str, object], name: str) -> dict[str, object]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigurationError(f"config.toml: [{name}] must be a table")
    return value


def render_config(*, listen: str, database_url: str | None, external_url: str = "") -> str:
    """Text of a new ``config.toml``."""
    db_line = (
        f"url = {_q(database_url)}"
        if database_url
        else '# url = "postgresql://user@host/db"   (default: certmgr.db in this folder)'
    )
    return f"""# certmgr controller configuration
log_level = "INFO"

[server]
listen = {_q(listen)}
# external_url = "https://certmgr.example.com"   (links in e-mails; set when behind a reverse proxy)
external_url = {_q(external_url)}
# X-Forwarded-For is believed only from these addresses/CIDRs
trusted_proxies = []
session_idle_minutes = 30
session_max_hours = 12

[database]
{db_line}

[ca]
# crl_url = ""   (default: <external_url>/pki/crl.der)

[agents]
# long-poll answer time (seconds) and where to advertise the controller by zeroconf
# (_certmgr._tcp.local.) for agents enrolling without a URL; empty = not advertised.
poll_wait = 25
# zeroconf_interfaces = ["192.0.2.10"]

[acme]
# The HTTP-01 challenge responder (plain HTTP). ACME CAs fetch http://<name>/.well-known/acme-challenge/
# on port 80: listen there, or forward that path from your web server or load balancer.
# http01_listen = "0.0.0.0:80"

[scheduler]
# Monitoring, renewals, the daily digest and notification delivery. With PostgreSQL several
# controllers may run it: a lease row in the database makes each job run once.
enabled = true
# replica_id = ""   (default: host name and process id)

[metrics]
# /metrics (Prometheus text) needs "Authorization: Bearer <metrics token>": the token is made at init and
# shown to admins under Settings (regenerate it there). A token set here is accepted as well.
# token = ""
"""


def _q(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value)
