"""``certmgr-agent status``: enrolment, pinned controller, last contact, targets and fingerprints.

Blocking (reads the state directory and the targets); the CLI calls it without an event loop.
"""

from __future__ import annotations

from typing import Any

from certmgr.agent.inventory import collect_inventory
from certmgr.agent.settings import AgentSettings
from certmgr.agent.state import AgentState
from certmgr.shared.targets import RealHost


def _time(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def gather_status(settings: AgentSettings) -> dict[str, Any]:
    """Everything ``status`` shows, as a JSON-ready dict (no secrets).

    Raises:
        ConfigurationError: The state directory is damaged or readable by others.
    """
    state = AgentState(settings.state_dir)
    report: dict[str, Any] = {"state_dir": str(settings.state_dir), "enrolled": False}
    if state.is_enrolled():
        e = state.load_enrollment()
        status = state.read_status()
        report.update(
            enrolled=True,
            agent_id=e.agent_id,
            controller_url=settings.controller_url or e.controller_url,
            controller_ca_sha256=e.ca_sha256,
            enrolled_at=_time(e.enrolled_at),
            last_contact=_time(status.last_contact),
            last_error=status.last_error,
            last_error_at=_time(status.last_error_at),
        )
    report["targets"] = [t.to_json() for t in collect_inventory(settings, state, RealHost())]
    return report


def render_status(report: dict[str, Any]) -> str:
    """The status as text for a terminal."""
    lines = [f"state directory: {report['state_dir']}"]
    if not report["enrolled"]:
        lines.append("not enrolled: run 'certmgr-agent enroll --token ...'")
    else:
        lines += [
            f"agent id:        {report['agent_id']}",
            f"controller:      {report['controller_url']}",
            f"pinned CA:       sha256 {report['controller_ca_sha256']}",
            f"enrolled at:     {report['enrolled_at']}",
            f"last contact:    {report['last_contact'] or 'never'}",
        ]
        if report["last_error"]:
            lines.append(f"last error:      {report['last_error']} ({report['last_error_at']})")
    lines.append(f"targets:         {len(report['targets']) or 'none configured'}")
    for t in report["targets"]:
        reason = f" - {t['reason']}" if t["reason"] else ""
        lines.append(f"  {t['name']} ({t['type']}): {t['availability']}{reason}")
        for item in t["installed"]:
            lines.append(
                f"    {item['path']}  sha256 {item['sha256']}  not after {item['not_after']}"
            )
    return "\n".join(lines)
