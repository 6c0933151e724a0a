"""Discovery settings kept in the database: the scope allow-list, the size limit, the schedule, the policy.

The scope is an admin's decision: nothing outside it is ever contacted, and with no scope set no
scan can start. A scan naming more address:port pairs than ``size_limit`` needs an explicit
confirmation (``--confirm-large``, a console checkbox, ``confirm_large`` in the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import SettingRecord
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.monitoring.config import _save as save_setting
from certmgr.controller.services.monitoring.config import parse_time_of_day
from certmgr.shared.clock import Clock
from certmgr.shared.discovery import Scope, parse_targets
from certmgr.shared.discovery.policy import TrustPolicy
from certmgr.shared.errors import ValidationError

DISCOVERY_KEY = "discovery"
DEFAULT_SIZE_LIMIT = 65_536
_BOUNDS: dict[str, tuple[float, float]] = {
    "size_limit": (1, 2**32),
    "concurrency": (1, 2000),
    "per_host": (1, 64),
    "connect_timeout": (0.1, 30),
    "handshake_timeout": (0.5, 60),
    "schedule_interval_hours": (1, 168),
}


@dataclass(frozen=True)
class DiscoveryConfig:
    """How discovery runs and what it may touch.

    ``scope`` lists networks (``10.0.0.0/8``, ``2001:db8::/32``, single addresses) and optionally
    host-name patterns (``*.example.com``), which narrow what names may be scanned. The scheduled
    scan runs ``schedule_targets`` on ``schedule_ports`` at ``schedule_time`` (UTC) and every
    ``schedule_interval_hours`` after it, and reports what changed since its last run.
    """

    scope: tuple[str, ...] = ()
    size_limit: int = DEFAULT_SIZE_LIMIT
    concurrency: int = 256
    per_host: int = 4
    connect_timeout: float = 1.5
    handshake_timeout: float = 5.0
    schedule_enabled: bool = False
    schedule_targets: str = ""
    schedule_ports: str = ""
    schedule_time: str = "02:00"
    schedule_interval_hours: int = 24
    policy: dict[str, Any] = field(default_factory=dict)

    def scope_value(self) -> Scope:
        """The scope as the scan engine reads it.

        Raises:
            ValidationError: An entry is neither a network nor a name pattern.
        """
        return Scope.parse(self.scope)

    def trust_policy(self) -> TrustPolicy:
        """The trust policy (defaults where the stored form says nothing).

        Raises:
            ValidationError: The stored policy is malformed (naming the field).
        """
        return TrustPolicy.from_dict(self.policy)

    def to_json(self) -> dict[str, Any]:
        """The stored and API form (the policy in full, defaults filled in)."""
        return {
            "scope": list(self.scope),
            "size_limit": self.size_limit,
            "concurrency": self.concurrency,
            "per_host": self.per_host,
            "connect_timeout": self.connect_timeout,
            "handshake_timeout": self.handshake_timeout,
            "schedule_enabled": self.schedule_enabled,
            "schedule_targets": self.schedule_targets,
            "schedule_ports": self.schedule_ports,
            "schedule_time": self.schedule_time,
            "schedule_interval_hours": self.schedule_interval_hours,
            "policy": self.trust_policy().to_dict(),
        }


def _scope_entries(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.replace(",", "\n").splitlines()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError("scope must be a list of networks and host names", field="scope")
    entries = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    Scope.parse(entries)  # every entry checked, the message quotes the bad one
    return entries


def check_discovery_config(cfg: DiscoveryConfig) -> DiscoveryConfig:
    """The config with every value checked (scope entries, bounds, schedule, policy).

    Raises:
        ValidationError: A value is wrong; ``field`` names it.
    """
    cfg = replace(cfg, scope=_scope_entries(list(cfg.scope)))
    for name, (lo, hi) in _BOUNDS.items():
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise ValidationError(f"{name} must be between {lo:g} and {hi:g}", field=name)
        if "timeout" not in name and value != int(value):
            raise ValidationError(f"{name} must be a whole number", field=name)
    if cfg.per_host > cfg.concurrency:
        raise ValidationError("per_host must not exceed the concurrency", field="per_host")
    parse_time_of_day(cfg.schedule_time, "schedule_time")
    if cfg.schedule_enabled and not cfg.schedule_targets.strip():
        raise ValidationError("a scheduled scan needs targets to scan", field="schedule_targets")
    if cfg.schedule_targets.strip():
        parse_targets(cfg.schedule_targets, cfg.schedule_ports.strip() or None)
    cfg.trust_policy()
    return cfg


_TYPES: dict[str, type[Any]] = {
    "size_limit": int,
    "concurrency": int,
    "per_host": int,
    "connect_timeout": float,
    "handshake_timeout": float,
    "schedule_enabled": bool,
    "schedule_targets": str,
    "schedule_ports": str,
    "schedule_time": str,
    "schedule_interval_hours": int,
}


def discovery_config_from(
    data: dict[str, Any], base: DiscoveryConfig | None = None
) -> DiscoveryConfig:
    """A config from its JSON form over ``base`` (keys left out keep their value), checked.

    Raises:
        ValidationError: An unknown key, a wrong type or a bad value (``field`` names it).
    """
    if not isinstance(data, dict):
        raise ValidationError("the discovery settings must be an object", field="body")
    out: dict[str, Any] = {}
    for key, raw in data.items():
        if key == "scope":
            out["scope"] = _scope_entries(raw)
        elif key == "policy":
            if not isinstance(raw, dict):
                raise ValidationError("policy must be an object", field="policy")
            TrustPolicy.from_dict(raw)
            out["policy"] = dict(raw)
        elif key in _TYPES:
            kind = _TYPES[key]
            if kind is bool and not isinstance(raw, bool):
                raise ValidationError(f"{key} must be true or false", field=key)
            if kind is float and isinstance(raw, int | float) and not isinstance(raw, bool):
                raw = float(raw)
            if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
                raise ValidationError(f"{key} must be a {kind.__name__}", field=key)
            out[key] = raw
        else:
            raise ValidationError(f"unknown setting {key!r}", field=key)
    return check_discovery_config(replace(base or DiscoveryConfig(), **out))


async def load_discovery_config(db: Database) -> DiscoveryConfig:
    """The stored discovery settings (defaults where none are stored: an empty scope)."""
    async with db.reader() as s:
        row = await s.get(SettingRecord, DISCOVERY_KEY)
    if row is None:
        return DiscoveryConfig()
    try:
        return discovery_config_from(dict(row.value))
    except ValidationError:
        # a stored value a newer check refuses: keep the scope (never widen it), drop the rest
        scope = row.value.get("scope") or ()
        return DiscoveryConfig(scope=tuple(str(s) for s in scope))


async def save_discovery_config(
    db: Database, actor: Actor, cfg: DiscoveryConfig, clock: Clock
) -> DiscoveryConfig:
    """Check and store the discovery settings (admins only: the scope decides what is contacted).

    Raises:
        PermissionDeniedError: Not an admin.
        ValidationError: A bad value.
    """
    actor.require_admin("changing the discovery scope and settings")
    cfg = check_discovery_config(cfg)
    value = cfg.to_json()
    value["policy"] = dict(cfg.policy)
    await save_setting(db, actor, DISCOVERY_KEY, value, clock)
    return cfg
