"""Messages the console shows are in words: no state codes, no CLI flags (issue 14 item 5)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from certmgr.controller.domain.states import (
    DeploymentStatus,
    RequestStatus,
    check_deployment_transition,
    check_request_transition,
    request_summary,
)
from certmgr.shared.errors import InvalidTransitionError

ROOT = Path(__file__).resolve().parents[3]
FLAG = re.compile(r"(^|[\s('\"])--[a-z][a-z-]+")
# services only the command line reaches (restore runs before any console exists)
CLI_ONLY = {"controller/services/admin/restore.py", "controller/services/admin/backup_db.py"}


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) for v in node.values if isinstance(v, ast.Constant | ast.JoinedStr))
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    return ""


def test_no_error_the_console_shows_names_a_cli_flag() -> None:
    offenders = []
    for base in ("controller/services", "controller/domain", "controller/web"):
        for path in (ROOT / base).rglob("*.py"):
            rel = str(path.relative_to(ROOT))
            if rel in CLI_ONLY:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                    for arg in node.exc.args[:1]:
                        if FLAG.search(_text(arg)):
                            offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_templates_tell_no_flag_outside_commands_to_copy() -> None:
    offenders = []
    for path in (ROOT / "webui/templates/console").glob("*.html"):
        text = re.sub(r"<pre.*?</pre>|<code.*?</code>", "", path.read_text(), flags=re.S)
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
        offenders += [f"{path.name}: {m.group(0)}" for m in FLAG.finditer(text)]
    assert offenders == []


def test_state_refusals_and_request_summaries_are_words() -> None:
    with pytest.raises(InvalidTransitionError) as err:
        check_deployment_transition("deployment 7", "retired", DeploymentStatus.PREPARED)
    assert str(err.value) == "Deployment 7 is retired, so it cannot be prepared now."
    with pytest.raises(InvalidTransitionError) as err:
        check_request_transition("request 3", "done", RequestStatus.CANCELLED)
    assert "'" not in str(err.value) and "completed" in str(err.value)
    text = request_summary(3, "key-and-csr", "vendor")
    assert "key-and-csr" not in text and "order the certificate from the vendor" in text
    failed = request_summary(4, "key-and-csr", "acme", "the CA refused the order")
    assert "could not get its certificate: the CA refused the order" in failed
    assert "tried again automatically" in failed
    for s in RequestStatus:  # the hyphenated codes never appear
        assert "-" not in request_summary(1, s.value, "vendor"), s
