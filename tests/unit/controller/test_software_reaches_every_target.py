"""Every install target is reached by a server software type, and agent.toml.example lists them."""

from __future__ import annotations

import re
from pathlib import Path

from certmgr.controller.domain.software import SOFTWARE
from certmgr.shared.targets import TARGETS

EXAMPLE = Path(__file__).parents[3] / "agent" / "packaging" / "agent.toml.example"


def test_every_target_has_a_software_type() -> None:
    reached = {s.target_type for s in SOFTWARE.values() if s.target_type is not None}
    assert reached == set(TARGETS), "a target no deployment can choose, or a type without target"


def test_the_agent_example_names_exactly_the_targets() -> None:
    text = EXAMPLE.read_text()
    listed = re.search(r'"type" is one of: ([^.]+)\.', text.replace("\n#", ""))
    assert listed, "agent.toml.example lists the target types"
    assert {t.strip() for t in listed.group(1).split(",")} == set(TARGETS)
    for used in re.findall(r'^type = "([^"]+)"', text, re.MULTILINE):
        assert used in TARGETS
