"""agent.toml parsing and environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from certmgr.agent.settings import load_settings
from certmgr.shared.errors import ConfigurationError

GOOD = """
controller_url = "https://ctl.example.net:23466/"
state_dir = "/var/lib/agent-x"
agent_name = "web01"
poll_wait = 40
max_backoff = 5

[targets.web]
type = "files"
allowed_paths = ["/etc/ssl/site"]
cert_path = "/etc/ssl/site/cert.pem"
reload_cmd = ["systemctl", "reload", "postfix"]

[targets.keys]
type = "files"
fullchain_path = "/srv/full.pem"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_full_configuration(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path, GOOD), env={})
    assert s.controller_url == "https://ctl.example.net:23466"
    assert s.state_dir == Path("/var/lib/agent-x") and s.agent_name == "web01"
    assert s.poll_wait == 40 and s.max_backoff == 5.0
    web = s.target("web")
    assert web is not None and web.type == "files" and web.allowed_paths == ("/etc/ssl/site",)
    assert web.params["reload_cmd"] == ["systemctl", "reload", "postfix"]
    assert "allowed_paths" not in web.params and "type" not in web.params
    # without allowed_paths, the declared files are the allow-list
    keys = s.target("keys")
    assert keys is not None and keys.allowed_paths == ("/srv/full.pem",)
    assert "reload_cmd" not in repr(web)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "CERTMGR_AGENT_CONFIG": str(_write(tmp_path, GOOD)),
        "CERTMGR_AGENT_STATE_DIR": "/tmp/other",
        "CERTMGR_AGENT_POLL_WAIT": "7",
        "CERTMGR_AGENT_CONTROLLER_URL": "https://10.0.0.1:8443",
    }
    s = load_settings(env=env)
    assert s.state_dir == Path("/tmp/other") and s.poll_wait == 7
    assert s.controller_url == "https://10.0.0.1:8443"


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load_settings(env={"CERTMGR_AGENT_STATE_DIR": str(tmp_path)})
    assert s.targets == () and s.poll_wait is None and s.state_dir == tmp_path
    assert s.discovery_interval == 86400 and s.discovery_ports == ""


def test_discovery_settings_from_file_and_environment(tmp_path: Path) -> None:
    s = load_settings(
        _write(tmp_path, 'discovery_interval = 0\ndiscovery_ports = "443, 9000-9010"'), env={}
    )
    assert s.discovery_interval == 0 and s.discovery_ports == "443, 9000-9010"
    s = load_settings(
        _write(tmp_path, ""),
        env={"CERTMGR_AGENT_DISCOVERY_INTERVAL": "3600", "CERTMGR_AGENT_DISCOVERY_PORTS": "8443"},
    )
    assert s.discovery_interval == 3600 and s.discovery_ports == "8443"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1", "unknown setting"),
        ('controller_url = "http://x"', "https"),
        ('state_dir = "relative"', "absolute"),
        ('agent_name = "a b"', "agent_name"),
        ("poll_wait = 0", "poll_wait"),
        ("poll_wait = true", "poll_wait"),
        ('[targets.web]\ntype = "ftp"', "type must be one of"),
        ('[targets.web]\ntype = "files"\ncolour = 1\nallowed_paths = ["/x"]', "no parameter"),
        ('[targets.web]\ntype = "files"', "set allowed_paths"),
        ('[targets.web]\ntype = "files"\nallowed_paths = ["etc"]', "absolute"),
        ('[targets.web]\ntype = "files"\nallowed_paths = ["/etc/../x"]', "absolute and normal"),
        ('[targets."a b"]\ntype = "files"', "label"),
        ("not toml =", "not valid TOML"),
        ("discovery_interval = -1", "discovery_interval"),
        ('discovery_ports = "443; rm -rf /"', "discovery_ports"),
        ("discovery_ports = 443", "discovery_ports must be a string"),
    ],
)
def test_bad_configuration_is_a_configuration_error(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(_write(tmp_path, text), env={})


def test_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", env={})


def test_the_shipped_example_is_valid() -> None:
    example = Path(__file__).resolve().parents[3] / "agent" / "packaging" / "agent.toml.example"
    s = load_settings(example, env={})
    assert [t.label for t in s.targets] == ["web", "mail"]
    assert s.target("mail") is not None
