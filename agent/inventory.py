"""What the agent's targets hold now: availability and installed fingerprints, per local label.

Blocking (reads files, may run a configuration check): call through ``asyncio.to_thread``.
"""

from __future__ import annotations

from typing import Any, Final

from certmgr.agent.settings import AgentSettings, TargetConfig
from certmgr.agent.state import AgentState
from certmgr.shared.errors import CertmgrError
from certmgr.shared.protocol import InstalledItem, TargetReport
from certmgr.shared.targets import AvailabilityState, HostOps, Target, get_target, package_params

MAX_LINE: Final = 1000
MAX_INSTALLED: Final = 64


def clip(text: str, limit: int = MAX_LINE) -> str:
    """``text`` without NUL characters, cut to ``limit`` characters."""
    clean = text.replace("\x00", " ")
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def local_params(cfg: TargetConfig, state: AgentState) -> dict[str, Any]:
    """Parameters for a target built without a package: last installed ones, then agent.toml.

    Only package-settable values are taken from the remembered ones: a state file written by an
    older agent may hold a command or a program path a package once carried.

    Raises:
        ConfigurationError: The state file is damaged.
    """
    carried = package_params(cfg.type)
    remembered = {k: v for k, v in state.target_params(cfg.label).items() if k in carried}
    return {**remembered, **cfg.params}


def build_local_target(cfg: TargetConfig, state: AgentState, host: HostOps) -> Target:
    """The target ``cfg`` as configured locally (for inventory and status).

    Raises:
        ValidationError: The parameters are incomplete or wrong.
        ConfigurationError: The state file is damaged.
    """
    return get_target(cfg.type, local_params(cfg, state), host, allowed_paths=cfg.allowed_paths)


def target_report(cfg: TargetConfig, state: AgentState, host: HostOps) -> TargetReport:
    """Availability and installed certificates of one target; problems become the ``reason``."""
    try:
        target = build_local_target(cfg, state, host)
    except CertmgrError as err:
        return TargetReport(
            name=cfg.label,
            type=cfg.type,
            availability=AvailabilityState.MISCONFIGURED.value,
            reason=clip(f"parameters incomplete or invalid: {err}"),
        )
    try:
        availability = target.availability()
        found = target.inventory() if availability.state is not AvailabilityState.ABSENT else []
    except CertmgrError as err:
        return TargetReport(
            name=cfg.label,
            type=cfg.type,
            availability=AvailabilityState.MISCONFIGURED.value,
            reason=clip(str(err)),
        )
    installed = tuple(
        InstalledItem(path=clip(c.location, 4096), sha256=c.sha256, not_after=c.not_after)
        for c in found[:MAX_INSTALLED]
    )
    return TargetReport(
        name=cfg.label,
        type=cfg.type,
        availability=availability.state.value,
        reason=clip(availability.reason),
        installed=installed,
    )


def collect_inventory(
    settings: AgentSettings, state: AgentState, host: HostOps
) -> tuple[TargetReport, ...]:
    """A :class:`~certmgr.shared.protocol.TargetReport` for every configured target."""
    return tuple(target_report(cfg, state, host) for cfg in settings.targets)
