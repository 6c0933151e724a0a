"""Guard: every registered target has a real-server integration suite here (STYLE 4.10)."""

from __future__ import annotations

from pathlib import Path

from certmgr.shared.targets import TARGETS

HERE = Path(__file__).parent

SUITES = {
    "nginx": "test_nginx.py",
    "apache": "test_apache.py",
    "haproxy": "test_haproxy.py",
    "java-keystore": "test_java_keystore.py",
    "files": "test_files.py",
}


def test_every_registered_target_has_an_integration_suite() -> None:
    assert set(SUITES) == set(TARGETS), (
        "add the new target to SUITES and write its real-server test"
    )
    for name, module in SUITES.items():
        text = (HERE / module).read_text()
        assert f'get_target("{name}"' in text, (
            f"{module} does not install through the {name} target"
        )
        assert "install(" in text and "def test_" in text
