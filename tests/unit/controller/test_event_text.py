"""Every event code the code base writes (audit actions, request and deployment history) has words.

The codes are read from the source with ``ast``: the action of every ``audit(...)`` call and of
every row built with an ``"action"`` key, the event of every ``add_event(...)`` call; codes
built from a state (``f"{kind}.{new.value}"``, ``f"agent.{status}"``) are expanded over the
values they can take.
"""

from __future__ import annotations

import ast
from pathlib import Path

from certmgr.controller.domain.events import EVENT_TEXT, event_text
from certmgr.controller.domain.states import DeploymentStatus, RequestStatus

ROOT = Path(__file__).resolve().parents[3] / "controller"

# f-string families: the prefix before the first placeholder -> the values it takes
FAMILIES: dict[str, tuple[str, ...]] = {
    "agent.": ("approved", "revoked"),
    "job.": ("monitoring", "renewal", "digest", "outbox"),
    "settings.": ("monitoring", "notifications"),
    "monitoring-": ("on", "off"),
    "check-": ("deploy-check", "monitor", "manual", "oneclick", "agent"),
}


def _literal(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        head = node.values[0]
        prefix = head.value if isinstance(head, ast.Constant) else ""
        if isinstance(prefix, str) and prefix in FAMILIES:
            return [prefix + v for v in FAMILIES[prefix]]
    return []


def _history_of(path: Path, text: str) -> str:
    """Whose ``add_event`` a module calls: the deployments' or the requests'."""
    if "deployment" in path.parts or "deployment.deployments import" in text:
        return "deployment"
    return "request"


def codes_in_source() -> set[str]:
    """(Audit action or ``history.event``) codes written anywhere in the controller."""
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name == "audit" and len(node.args) >= 3:
                    found.update(_literal(node.args[2]))
                if name == "add_event" and len(node.args) >= 4:
                    history = _history_of(path, text)
                    found.update(f"{history}.{c}" for c in _literal(node.args[3]))
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    if isinstance(k, ast.Constant) and k.value == "action" and v is not None:
                        found.update(c for c in _literal(v) if "." in c)
    for s in RequestStatus:
        found.add(f"request.{s.value}")
    for d in DeploymentStatus:
        found.add(f"deployment.{d.value}")
    return found


def test_every_event_code_has_text() -> None:
    codes = codes_in_source()
    assert len(codes) > 60  # the scan found the code base's events
    missing = sorted(c for c in codes if c not in EVENT_TEXT)
    assert missing == [], f"add words for these codes to controller/domain/events.py: {missing}"


def test_event_text_words() -> None:
    assert event_text("definition.switch-current") == "Switched to the new certificate"
    assert event_text("current-switched", "request") == "Switched to the new certificate"
    assert event_text("check-failed", "deployment") == "The check found problems"
    # an unknown code is never shown raw
    assert event_text("thing.made-up") == "Thing made up"
