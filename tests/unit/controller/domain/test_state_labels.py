"""Every state a person sees has words (issue 14): the one mapping covers every state value."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from certmgr.controller.domain.state_labels import (
    STATE_LABELS,
    acquisition_badge,
    state_badge,
    state_choices,
    state_label,
)
from certmgr.controller.domain.states import DeploymentStatus, RequestStatus
from certmgr.controller.domain.values import IssuerKind
from certmgr.controller.services.monitoring.discovery_match import Match
from certmgr.shared.discovery.policy import Severity, Verdict
from certmgr.shared.discovery.results import Outcome
from certmgr.shared.targets.base import AvailabilityState

ROOT = Path(__file__).resolve().parents[4]

ENUMS: list[tuple[str, type[StrEnum]]] = [
    ("request", RequestStatus),
    ("deployment", DeploymentStatus),
    ("match", Match),
    ("verdict", Verdict),
    ("severity", Severity),
    ("outcome", Outcome),
    ("availability", AvailabilityState),
    ("issuer", IssuerKind),
]

# stored columns (model class, column) whose comment lists their values -> the kind their
# values are labelled under ("" = not a state: kinds and sources a screen names in words already)
COLUMNS: dict[tuple[str, str], str] = {
    ("Agent", "status"): "agent",
    ("AgentWork", "state"): "agent-task",
    ("CertificateAuthority", "status"): "ca",
    ("DiscoveryScan", "state"): "scan",
    ("Finding", "state"): "finding",
    ("Finding", "severity"): "severity",
    ("OutboxMessage", "state"): "outbox",
    ("SentEmail", "result"): "email",
    ("BackupRun", "result"): "backup",
    ("ConsoleTask", "state"): "task",
}
NOT_STATES = {"challenge", "kind", "origin", "source", "issuer_kind", "delivery", "channel"}
NOT_STATES |= {"trigger"}


@pytest.mark.parametrize(("kind", "enum"), ENUMS, ids=[k for k, _ in ENUMS])
def test_every_enum_value_has_words(kind: str, enum: type[StrEnum]) -> None:
    missing = [v.value for v in enum if v.value not in STATE_LABELS[kind]]
    assert missing == []


def _documented_columns() -> list[tuple[str, str, list[str]]]:
    """(class, column, values) of every ``Mapped[str]`` column whose comment lists its values."""
    found = []
    for path in sorted((ROOT / "controller/db/models").glob("*.py")):
        lines = path.read_text().splitlines()
        cls = ""
        for i, line in enumerate(lines):
            k = re.match(r"class (\w+)\(", line)
            if k:
                cls = k.group(1)
            m = re.match(r"\s+(\w+): Mapped\[str\]", line)
            if not m:
                continue
            # the comment is on the column's line, or on the closing line of a wrapped call
            block = " ".join(lines[i : i + 3]) if line.rstrip().endswith("(") else line
            c = re.search(r"#\s*([\w-]+(?:\s*\|\s*[\w-]+)+)", block)
            if c:
                found.append((cls, m.group(1), [v.strip() for v in c.group(1).split("|")]))
    return found


def test_every_documented_state_column_has_words() -> None:
    columns = _documented_columns()
    assert len(columns) >= 8, columns  # the scan finds the state columns at all
    problems = []
    for file, column, values in columns:
        kind = COLUMNS.get((file, column))
        if column in NOT_STATES:
            continue
        if kind is None:
            problems.append(f"{file}:{column} ({'|'.join(values)}) has no kind in COLUMNS")
        elif kind:
            problems += [f"{file}:{column}={v}" for v in values if v not in STATE_LABELS[kind]]
    assert problems == []


def test_labels_are_words_not_codes() -> None:
    codes = {str(v) for labels in STATE_LABELS.values() for v in labels if "-" in str(v)}
    for kind, labels in STATE_LABELS.items():
        for value, badge in labels.items():
            assert badge.label and not any(c in badge.label for c in codes), (kind, value, badge)
            assert badge.tone in {"ok", "warn", "bad", "none", "info"}, (kind, value)
    assert state_label("request", "key-and-csr") == "waiting to be ordered"
    assert state_badge("deployment", "check-failed").tone == "bad"
    assert state_label("deployment", "awaiting-certificate") == "awaiting certificate"
    assert state_badge("request", None).label == "-"
    assert acquisition_badge(None).label == "-"
    assert acquisition_badge("done").label == "completed"
    assert ("key-and-csr", "waiting to be ordered") in state_choices("request")
    assert all(v for v, _ in state_choices("job"))  # the "never ran" blank is not a choice


def test_no_template_prints_a_raw_state() -> None:
    raw = re.compile(
        r"\{\{\s*[\w.]+\.(status|state|result|last_result|severity|verdict|match|outcome)\s*\}\}"
    )
    offenders = []
    for path in (ROOT / "webui/templates").rglob("*"):
        if path.suffix not in (".html", ".txt"):
            continue
        for m in raw.finditer(path.read_text()):
            if m.group(0) == "{{ values.state }}":  # the subject's state or province (ST)
                continue
            offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert offenders == []


def test_templates_that_draw_badges_import_the_macro() -> None:
    missing = [
        p.name
        for p in (ROOT / "webui/templates").rglob("*.html")
        if "{{ badge(" in p.read_text() and not re.search(r"import [^%]*\bbadge\b", p.read_text())
    ]
    assert missing == []
