"""``certmgr config check``: every problem in ``config.toml``, each naming its line.

The controller itself stops at the first bad value (``settings.load_settings``); an operator
editing the file wants them all at once, with the line to go to. Syntax errors come from the
TOML parser (its line and column); then each known setting is checked for its type and range;
settings certmgr does not know are reported as warnings (a misspelt key is otherwise silently
ignored and its default used).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from certmgr.controller.settings import parse_hostport
from certmgr.shared.errors import ConfigurationError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Problem:
    """One finding: where, what, and whether the controller would refuse to start."""

    line: int  # 1-based; 0 when the whole file is meant
    message: str
    error: bool = True

    def render(self, name: str) -> str:
        """``config.toml:12: error: ...`` (as compilers write it)."""
        where = f"{name}:{self.line}" if self.line else name
        return f"{where}: {'error' if self.error else 'warning'}: {self.message}"


Check = Callable[[object], str | None]  # a value's problem in words, or None


def _str(value: object) -> str | None:
    return None if isinstance(value, str) else "must be text in quotes"


def _positive_int(value: object) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else "must be a positive whole number"


def _seconds(limit: float) -> Check:
    def check(value: object) -> str | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= limit
        return None if ok else f"must be a number of seconds above 0, at most {limit:g}"

    return check


def _range(low: int, high: int) -> Check:
    def check(value: object) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else f"must be a whole number from {low} to {high}"

    return check


def _bool(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false (no quotes)"


def _one_of(*choices: str) -> Check:
    def check(value: object) -> str | None:
        return (
            None if value in choices else "must be one of " + ", ".join(f'"{c}"' for c in choices)
        )

    return check


def _hostport(value: object) -> str | None:
    if not isinstance(value, str):
        return 'must be text like "127.0.0.1:23466"'
    if not value:
        return None
    try:
        parse_hostport(value)
    except ConfigurationError as err:
        return str(err)
    return None


def _url(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be text in quotes"
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{value!r} is not an http:// or https:// URL"
    return None


def _database_url(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be text in quotes"
    if value and not value.startswith(("sqlite", "postgresql", "postgres://")):
        return "must be a sqlite:/// or postgresql:// URL"
    return None


def _networks(value: object) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return 'must be a list of addresses or CIDRs, e.g. ["10.0.0.1", "192.0.2.0/24"]'
    for v in value:
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError:
            return f"{v!r} is not an address or CIDR"
    return None


def _strings(value: object) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return None if ok else "must be a list of texts in quotes"


def _replica(value: object) -> str | None:
    return None if isinstance(value, str) and len(value) <= 100 else "must be text (up to 100)"


# table ("" = top level) -> key -> check; a table mapped to None takes any keys (owned elsewhere)
KNOWN: dict[str, dict[str, Check] | None] = {
    "": {"log_level": _one_of(*LOG_LEVELS), "log_format": _one_of("text", "json")},
    "server": {
        "listen": _hostport,
        "external_url": _url,
        "trusted_proxies": _networks,
        "session_idle_minutes": _positive_int,
        "session_max_hours": _positive_int,
        "tls_reload_seconds": _seconds(86400),
    },
    "database": {"url": _database_url},
    "ca": {"crl_url": _url},
    "agents": {"poll_wait": _positive_int, "zeroconf_interfaces": _strings},
    "acme": {"http01_listen": _hostport},
    "scheduler": {
        "enabled": _bool,
        "replica_id": _replica,
        "tick_seconds": _seconds(3600),
        "batch_size": _positive_int,
        "batch_lease_seconds": _seconds(3600),
    },
    "metrics": {"token": _str},
    "backup": {  # as services.admin.backup_config reads them
        "enabled": _bool,
        "interval_hours": _range(1, 24 * 366),
        "keep": _range(1, 10_000),
        "folder": _str,
        "passphrase_file": _str,
        "include_master_key": _bool,
        "pg_dump": _str,
        "psql": _str,
    },
}

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _lines(text: str) -> dict[tuple[str, str], int]:
    """Where each ``[table]`` (key "") and each ``key =`` is (first occurrence)."""
    where: dict[tuple[str, str], int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = header.group(1)
            where.setdefault((table, ""), number)
            continue
        key = _KEY.match(line)
        if key:
            where.setdefault((table, key.group(1)), number)
    return where


def check_config_text(text: str) -> list[Problem]:
    """Every problem in the text of a ``config.toml``, in line order."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = _AT_LINE.search(str(err))
        line = int(m.group(1)) if m else 0
        return [Problem(line, f"not valid TOML: {_AT_LINE.sub('', str(err)).strip()}")]
    where = _lines(text)
    problems: list[Problem] = []
    for key, value in data.items():
        if isinstance(value, dict):
            problems += _table(key, value, where)
        else:
            problems += _setting("", key, value, where)
    return sorted(problems, key=lambda p: p.line)


def _table(
    name: str, values: dict[str, object], where: dict[tuple[str, str], int]
) -> list[Problem]:
    line = where.get((name, ""), 0)
    if name not in KNOWN:
        known = ", ".join(f"[{t}]" for t in KNOWN if t)
        return [Problem(line, f"[{name}] is not a table certmgr knows ({known})", error=False)]
    if KNOWN[name] is None:
        return []
    problems: list[Problem] = []
    for key, value in values.items():
        problems += _setting(name, key, value, where)
    return problems


def _setting(
    table: str, key: str, value: object, where: dict[tuple[str, str], int]
) -> list[Problem]:
    line = where.get((table, key), 0)
    checks = KNOWN.get(table) or {}
    shown = f"[{table}] {key}" if table else key
    if key not in checks:
        hint = ", ".join(checks) or "none"
        return [Problem(line, f"{shown} is not a setting certmgr knows ({hint})", error=False)]
    problem = checks[key](value)
    return [Problem(line, f"{shown} {problem}")] if problem else []
